/**
 * `rm-label-pairs`: preference pairs labelled by the reward model instead of people, as the paper
 * builds DPO data: the SFT model samples two responses per prompt and the one the reward model
 * scores higher is `chosen`. Prompts whose two samples are the same text, or score within
 * `minMargin` of each other, give no pair.
 *
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { metric, MetricRow, metricsTable } from "../schemas/MetricRow.ts"
import { PreferenceRow } from "../schemas/PreferenceRow.ts"
import { PromptRow } from "../schemas/PromptRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { CommonFields, num, SamplingFields } from "./Params.ts"
import { attempt, loadRuntime, progressCallback } from "./Runtime.ts"
import { mixSeed } from "./Seeds.ts"

/** Params of rm-label-pairs. */
export const RmLabelPairsParams = Schema.Struct({
  /** Pairs whose two rewards differ by no more than this are dropped. */
  minMargin: num(0, 0),
  /** The `source` column of the pairs. */
  source: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("rm-label"))),
  ...SamplingFields,
  ...CommonFields
})

/** Two SFT samples per prompt, ordered by reward-model score. */
export const RmLabelPairs = Stage.make({
  name: "rm-label-pairs",
  version: "1",
  description: "preference pairs from two SFT samples per prompt, the higher reward-model score chosen",
  inputs: { prompts: PromptRow, tokenizer: TokenizerRow, sft: WeightsRow, rm: WeightsRow },
  outputs: { pairs: PreferenceRow, metrics: MetricRow },
  params: RmLabelPairsParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const { models } = yield* loadRuntime
      const report = yield* progressCallback
      const rows = Table.toRows(inputs.prompts)
      const out = yield* attempt(info.node, () => {
        const tok = models.loadTokenizer(inputs.tokenizer)
        return models.withModels([() => models.loadModel(inputs.sft, "sft", "lm"), () => models.loadModel(inputs.rm, "rm", "reward")], ([sft, rm]) => {
          const budget = models.promptBudget([sft!.config.contextLength, rm!.config.contextLength], params.maxNewTokens, params.maxPromptTokens)
          const prompts = models.encodePrompts(tok, rows, budget)
          const ids = prompts.flatMap((p) => [p.ids, p.ids]) // [2P]: prompt i's samples at 2i, 2i + 1
          const gen = models.generate(sft!, ids, params, mixSeed(info.seed, params.seed), (done) => report(done, ids.length + 1, "sampling"))
          const scores = models.rewards(rm!, ids, gen.ids, params.forwardBatchSize)
          report(ids.length + 1, ids.length + 1)
          const pairs: Array<typeof PreferenceRow.Type> = []
          let same = 0, close = 0, margin = 0
          prompts.forEach((_, i) => {
            const a = models.responseText(tok, gen.ids[2 * i]!), b = models.responseText(tok, gen.ids[2 * i + 1]!)
            const sa = scores[2 * i]!, sb = scores[2 * i + 1]!
            if (a === b) return void same++
            if (Math.abs(sa - sb) <= params.minMargin) return void close++
            margin += Math.abs(sa - sb)
            pairs.push({ prompt: rows[i]!.prompt, chosen: sa > sb ? a : b, rejected: sa > sb ? b : a, source: params.source, annotator: "rm", category: null })
          })
          return { pairs, same, close, margin: pairs.length === 0 ? 0 : margin / pairs.length }
        })
      })
      return {
        pairs: Table.make(PreferenceRow, out.pairs, "pairs"),
        metrics: metricsTable([
          metric("prompts", rows.length),
          metric("pairs", out.pairs.length),
          metric("dropped", out.same, "identical"),
          metric("dropped", out.close, "margin"),
          metric("margin_mean", out.margin)
        ])
      }
    })
})
