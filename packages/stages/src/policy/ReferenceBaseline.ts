/**
 * `reference-baseline`: ChatGLM-RLHF's reward variance reduction. For each RL prompt x the SFT
 * model's greedy response y_ref and its reward r(x, y_ref); rollouts then optimise
 * r(x, y) − r(x, y_ref), which removes the prompt's own reward level from the signal (the paper
 * uses this instead of reward normalisation). One row per distinct prompt.
 *
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { PolicyBaselineRow } from "../schemas/PolicyBaselineRow.ts"
import { PromptRow } from "../schemas/PromptRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { CommonFields, int } from "./Params.ts"
import { attempt, loadRuntime, progressCallback } from "./Runtime.ts"

/** Params of reference-baseline. */
export const ReferenceBaselineParams = Schema.Struct({
  /** Most tokens of a reference response (use the rollouts' maxNewTokens). */
  maxNewTokens: int(1, 32),
  /** Prompt budget in tokens; 0 = context − maxNewTokens (use the rollouts' value). */
  maxPromptTokens: int(0, 0),
  /** Sequences per generation / forward pass. */
  forwardBatchSize: int(1, 16),
  ...CommonFields
})

/** Greedy SFT reference responses and their rewards, one row per distinct prompt. */
export const ReferenceBaseline = Stage.make({
  name: "reference-baseline",
  version: "1",
  description: "greedy SFT reference response y_ref and reward r(x, y_ref) per RL prompt (reward variance reduction)",
  inputs: { prompts: PromptRow, tokenizer: TokenizerRow, sft: WeightsRow, rm: WeightsRow },
  outputs: { baseline: PolicyBaselineRow },
  params: ReferenceBaselineParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const { models } = yield* loadRuntime
      const report = yield* progressCallback
      const rows = yield* attempt(info.node, () => {
        const tok = models.loadTokenizer(inputs.tokenizer)
        return models.withModels([() => models.loadModel(inputs.sft, "sft", "lm"), () => models.loadModel(inputs.rm, "rm", "reward")], ([sft, rm]) => {
          const budget = models.promptBudget([sft!.config.contextLength, rm!.config.contextLength], params.maxNewTokens, params.maxPromptTokens)
          const all = models.encodePrompts(tok, Table.toRows(inputs.prompts), budget)
          const prompts = [...new Map(all.map((p) => [p.key, p])).values()]
          const sampling = { temperature: 0, topK: 0, topP: 1, maxNewTokens: params.maxNewTokens, maxPromptTokens: budget, forwardBatchSize: params.forwardBatchSize, greedy: true }
          const ids = prompts.map((p) => p.ids)
          const gen = models.generate(sft!, ids, sampling, params.seed, (done) => report(done, prompts.length + 1, "generating"))
          const rewards = models.rewards(rm!, ids, gen.ids, params.forwardBatchSize)
          report(prompts.length + 1, prompts.length + 1)
          return prompts.map((p, i) => ({ key: p.key, prompt: p.turns, refResponse: models.responseText(tok, gen.ids[i]!), refReward: rewards[i]! }))
        })
      })
      return { baseline: Table.make(PolicyBaselineRow, rows, "baseline") }
    })
})
