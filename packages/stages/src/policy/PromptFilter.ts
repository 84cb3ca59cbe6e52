/**
 * `prompt-filter`: keeps the RL prompts that can teach PPO something. For each prompt it samples
 * K responses from the policy (the SFT model), scores them with the reward model and drops the
 * prompt when the K rewards hardly vary: there the reward model does not tell responses apart,
 * so the prompt only adds noise to the policy gradient. The cut is a variance `threshold`, or the
 * `quantile` of all prompts' variances (default: the lowest 25% are dropped).
 *
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { metric, MetricRow, metricsTable } from "../schemas/MetricRow.ts"
import { PolicyDroppedPromptRow } from "../schemas/PolicyDroppedPromptRow.ts"
import { PromptRow } from "../schemas/PromptRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { CommonFields, int, SamplingFields } from "./Params.ts"
import { PolicyError } from "./PolicyError.ts"
import { attempt, loadRuntime, progressCallback } from "./Runtime.ts"
import { mixSeed } from "./Seeds.ts"

/** Params of prompt-filter. */
export const PromptFilterParams = Schema.Struct({
  /** Responses sampled per prompt. */
  k: int(2, 4),
  /** Drop prompts whose reward variance is below this value. */
  threshold: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Or: drop prompts below this quantile of all prompts' variances (default 0.25 when neither is set). */
  quantile: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(1))),
  ...SamplingFields,
  ...CommonFields
})

/** Population variance. */
export const variance = (xs: ReadonlyArray<number>): number => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  return xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length
}

/** The q-quantile of `xs` (linear interpolation between order statistics). */
export const quantileOf = (xs: ReadonlyArray<number>, q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const at = q * (sorted.length - 1)
  const lo = Math.floor(at), hi = Math.ceil(at)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo)
}

/** Drops RL prompts whose K sampled responses get nearly the same reward. */
export const PromptFilter = Stage.make({
  name: "prompt-filter",
  version: "1",
  description: "drops RL prompts whose K sampled responses' rewards vary too little (reward variance below a threshold or quantile)",
  inputs: { prompts: PromptRow, tokenizer: TokenizerRow, policy: WeightsRow, rm: WeightsRow },
  outputs: { kept: PromptRow, dropped: PolicyDroppedPromptRow, metrics: MetricRow },
  params: PromptFilterParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      if (params.threshold !== undefined && params.quantile !== undefined) {
        return yield* new PolicyError({ node: info.node, reason: `both threshold (${params.threshold}) and quantile (${params.quantile}) are set`, fix: "Set only one of them" })
      }
      const { models } = yield* loadRuntime
      const report = yield* progressCallback
      const rows = Table.toRows(inputs.prompts)
      if (rows.length === 0) return yield* new PolicyError({ node: info.node, reason: "the prompts table is empty", fix: "Wire a prompts table with at least one row" })
      const rewards = yield* attempt(info.node, () => {
        const tok = models.loadTokenizer(inputs.tokenizer)
        return models.withModels([() => models.loadModel(inputs.policy, "policy", "lm"), () => models.loadModel(inputs.rm, "rm", "reward")], ([policy, rm]) => {
          const budget = models.promptBudget([policy!.config.contextLength, rm!.config.contextLength], params.maxNewTokens, params.maxPromptTokens)
          const prompts = models.encodePrompts(tok, rows, budget)
          const ids = prompts.flatMap((p) => Array.from({ length: params.k }, () => p.ids)) // [P·K]: prompt i's samples at i·K …
          const gen = models.generate(policy!, ids, params, mixSeed(info.seed, params.seed), (done) => report(done, ids.length + 1, "sampling"))
          const scores = models.rewards(rm!, ids, gen.ids, params.forwardBatchSize)
          report(ids.length + 1, ids.length + 1)
          return prompts.map((_, i) => Array.from(scores.subarray(i * params.k, (i + 1) * params.k)))
        })
      })
      const variances = rewards.map(variance)
      const cut = params.threshold ?? quantileOf(variances, params.quantile ?? 0.25)
      const keep = variances.map((v) => v >= cut)
      const kept = rows.filter((_, i) => keep[i])
      const dropped = rows.flatMap((r, i) => (keep[i] ? [] : [{ ...r, variance: variances[i]!, rewardMean: rewards[i]!.reduce((a, b) => a + b, 0) / params.k }]))
      const mean = (xs: ReadonlyArray<number>) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)
      yield* Effect.logInfo(`kept ${kept.length} of ${rows.length} prompts (variance cut ${cut.toPrecision(3)})`)
      return {
        kept: Table.make(PromptRow, kept, "kept"),
        dropped: Table.make(PolicyDroppedPromptRow, dropped, "dropped"),
        metrics: metricsTable([
          metric("prompts", rows.length),
          metric("kept", kept.length),
          metric("dropped", dropped.length),
          metric("variance_cut", cut),
          metric("variance_mean", mean(variances)),
          metric("variance_mean", mean(variances.filter((_, i) => keep[i])), "kept"),
          metric("variance_mean", mean(variances.filter((_, i) => !keep[i])), "dropped"),
          metric("reward_mean", mean(rewards.flat()))
        ])
      }
    })
})
