/**
 * `rm-eval`: scores preference pairs with a reward model and reports, per source and overall,
 * accuracy with a 95% Wilson interval next to the best length-only rule on the same pairs, so a
 * reward model that learned length instead of quality shows up.
 *
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Progress, Stage, StageInfo, Table } from "@rlhf/core"
import type * as Nn from "@rlhf/nn"
import { Effect, Schema } from "effect"
import { checkedTurns, PreferenceRow } from "../schemas/PreferenceRow.ts"
import { PairScoreRow, RewardEvalRow } from "../schemas/RewardEval.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { ModelError } from "./ModelError.ts"
import { attempt, intParam, readTokenizer, stageBackend } from "./ModelStage.ts"
import type * as Scoring from "./RewardScoring.ts"

/** z of a two-sided 95% interval. */
const Z95 = 1.959963984540054

/**
 * The 95% Wilson score interval of a proportion `p` observed over `n` trials
 * (center (p + z²/2n) / (1 + z²/n), half-width z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)).
 */
export const wilsonInterval = (p: number, n: number, z = Z95): { lo: number; hi: number } => {
  if (n <= 0) return { lo: 0, hi: 1 }
  const z2 = z * z
  const denom = 1 + z2 / n
  const center = (p + z2 / (2 * n)) / denom
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))
  // Exactly, the interval holds p and lies in [0, 1]; clamp so float rounding keeps it so.
  return { lo: Math.min(p, Math.max(0, center - half)), hi: Math.max(p, Math.min(1, center + half)) }
}

/** Pearson correlation, or null when either variable is constant (or there are fewer than 2 points). */
export const pearson = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): number | null => {
  const n = xs.length
  if (n < 2) return null
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n
  let sxy = 0, sxx = 0, syy = 0
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx, dy = ys[i]! - my
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy)
}

type PairScore = typeof PairScoreRow.Type
type EvalRow = typeof RewardEvalRow.Type

// 1 when a > b, ½ on a tie, 0 otherwise.
const wins = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0)

/** The metrics row of one group of scored pairs (see RewardEvalRow). */
export const evalRow = (source: string, pairs: ReadonlyArray<PairScore>): EvalRow => {
  const n = pairs.length
  const accuracy = pairs.reduce((a, s) => a + wins(s.chosenScore, s.rejectedScore), 0) / n
  const longer = pairs.reduce((a, s) => a + wins(s.chosenLength, s.rejectedLength), 0) / n
  const { lo, hi } = wilsonInterval(accuracy, n)
  const scores = pairs.flatMap((s) => [s.chosenScore, s.rejectedScore])
  const lengths = pairs.flatMap((s) => [s.chosenLength, s.rejectedLength])
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length
  const std = Math.sqrt(scores.reduce((a, x) => a + (x - mean) ** 2, 0) / scores.length)
  return {
    source,
    n,
    accuracy,
    accuracyLo: lo,
    accuracyHi: hi,
    // "Prefer the shorter" is right exactly where "prefer the longer" is wrong (ties: ½ each).
    lengthBaselineAccuracy: Math.max(longer, 1 - longer),
    lengthBaselineRule: longer >= 1 - longer ? "longer" : "shorter",
    meanMargin: pairs.reduce((a, s) => a + s.chosenScore - s.rejectedScore, 0) / n,
    scoreMean: mean,
    scoreStd: std,
    scoreLengthCorrelation: pearson(scores, lengths)
  }
}

/** One row per source (sorted by name), then "overall" over all pairs; no rows for no pairs. */
export const evalRows = (pairs: ReadonlyArray<PairScore>): EvalRow[] => {
  if (pairs.length === 0) return []
  const bySource = new Map<string, PairScore[]>()
  for (const s of pairs) bySource.set(s.source, [...(bySource.get(s.source) ?? []), s])
  const sources = [...bySource.keys()].sort()
  return [...sources.map((s) => evalRow(s, bySource.get(s)!)), evalRow("overall", pairs)]
}

/**
 * Scores `pairs` with a reward model (`weights`, head "reward") and outputs `metrics` (one
 * RewardEvalRow per source plus "overall") and `scores` (one PairScoreRow per pair, in input
 * order). Pairs are truncated to the model's context as rm-train does; a pair whose responses are
 * identical after truncation is kept and scored as a tie, so `n` counts every input pair.
 */
export const RmEval = Stage.make({
  name: "rm-eval",
  version: "1",
  description: "reward-model accuracy per source with Wilson intervals, against the length-only baseline",
  inputs: { pairs: PreferenceRow, tokenizer: TokenizerRow, weights: WeightsRow },
  outputs: { metrics: RewardEvalRow, scores: PairScoreRow },
  params: Schema.Struct({
    /** Sequences per forward pass. */
    batchSize: intParam(2, 32),
    /** Prompt token budget when a pair does not fit the context; 0 = half the context (as rm-train). */
    maxPromptTokens: intParam(0, 0),
    workers: intParam(1, 1)
  }),
  resources: (p) => ({ cpu: p.workers, gpu: 1, shareGpu: true }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const progress = yield* Progress
      const { nn, scoring } = yield* Effect.promise(async () => ({
        nn: await import("@rlhf/nn"),
        scoring: await import("./RewardScoring.ts")
      }))
      yield* stageBackend
      const tok = yield* readTokenizer(nn.Tokenizer, inputs.tokenizer, info.node)
      const model = yield* attempt(info.node, () => nn.Weights.loadWeights(inputs.weights.arrow), "Wire weights to an rm-train node's weights output")
      if (model.head !== "reward") {
        nn.Gpt.dispose(model)
        return yield* new ModelError({ node: info.node, reason: `the weights input has head "${model.head}", not "reward"`, fix: "Wire weights to an rm-train node's weights output" })
      }
      const rows = Table.toRows(inputs.pairs)
      const scores = yield* attempt(info.node, () => {
        try {
          return scoreRows(nn, scoring, model, tok, rows, params, progress)
        } finally {
          nn.Gpt.dispose(model)
        }
      }, "Check that the tokenizer and the weights come from the same pipeline")
      const evaluated = evalRows(scores)
      for (const r of evaluated) {
        yield* Effect.logInfo(`${r.source}: n ${r.n}, accuracy ${r.accuracy.toFixed(3)} [${r.accuracyLo.toFixed(3)}, ${r.accuracyHi.toFixed(3)}], length baseline (${r.lengthBaselineRule}) ${r.lengthBaselineAccuracy.toFixed(3)}`)
      }
      return { metrics: Table.make(RewardEvalRow, evaluated, "metrics"), scores: Table.make(PairScoreRow, scores, "scores") }
    })
})

/** Scores every row (in chunks, reporting progress); lengths are of the whole responses in tokens. */
const scoreRows = (
  nn: typeof Nn,
  scoring: typeof Scoring,
  model: Nn.Gpt.Model,
  tok: Nn.Tokenizer.Tokenizer,
  rows: ReadonlyArray<typeof PreferenceRow.Type>,
  params: { batchSize: number; maxPromptTokens: number },
  progress: Progress["Service"]
): PairScore[] => {
  const ctx = model.config.contextLength
  const length = (text: string) => tok.encode(text, { allowSpecial: false }).length
  const out: PairScore[] = []
  const chunk = Math.max(params.batchSize * 8, 64)
  for (let at = 0; at < rows.length; at += chunk) {
    const part = rows.slice(at, at + chunk)
    const encoded = part.map((r, i) => scoring.encodePair(tok, checkedTurns(r.prompt, at + i), r.chosen, r.rejected, ctx, params.maxPromptTokens > 0 ? params.maxPromptTokens : undefined))
    const { chosen, rejected } = scoring.scorePairs(model, encoded, { batchSize: params.batchSize })
    part.forEach((r, i) => out.push({ source: r.source, chosenScore: chosen[i]!, rejectedScore: rejected[i]!, chosenLength: length(r.chosen), rejectedLength: length(r.rejected) }))
    progress.update({ done: Math.min(rows.length, at + chunk), total: rows.length, info: `${nn.Gpt.parameterCount(model)} params` })
  }
  return out
}
