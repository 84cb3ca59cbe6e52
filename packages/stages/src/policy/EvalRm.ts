/**
 * `eval-rm`: head-to-head evaluation judged by a reward model. Like `eval`, but a separate judge
 * reward model (the `judge` input: weights with a reward head, ideally one not used to train the
 * policy) scores both answers; the higher reward wins, a tie within `eps`.
 *
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { PolicyEvalRow } from "../schemas/PolicyEvalRow.ts"
import { PromptRow } from "../schemas/PromptRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { EvalFields } from "./EvalParams.ts"
import { CommonFields } from "./Params.ts"
import { attempt, loadRuntime, progressCallback } from "./Runtime.ts"
import { mixSeed } from "./Seeds.ts"

/** Params of eval-rm. */
export const EvalRmParams = Schema.Struct({ ...EvalFields, ...CommonFields })

/** Policy vs. baseline on eval prompts, judged by a reward model. */
export const EvalRm = Stage.make({
  name: "eval-rm",
  version: "1",
  description: "policy vs. baseline answers to eval prompts, judged by a separate judge reward model",
  inputs: { prompts: PromptRow, tokenizer: TokenizerRow, policy: WeightsRow, baseline: WeightsRow, judge: WeightsRow },
  outputs: { eval: PolicyEvalRow },
  params: EvalRmParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const { models, evals } = yield* loadRuntime
      const report = yield* progressCallback
      const rows = yield* attempt(info.node, () => {
        const tok = models.loadTokenizer(inputs.tokenizer)
        const loads = [
          () => models.loadModel(inputs.policy, "policy", "lm"),
          () => models.loadModel(inputs.baseline, "baseline", "lm"),
          () => models.loadModel(inputs.judge, "judge", "reward")
        ]
        return models.withModels(loads, ([policy, baseline, judge]) => {
          const budget = models.promptBudget([policy!, baseline!, judge!].map((m) => m.config.contextLength), params.maxNewTokens, params.maxPromptTokens)
          const prompts = models.encodePrompts(tok, Table.toRows(inputs.prompts), budget)
          const h = evals.answer(policy!, baseline!, tok, prompts, params, mixSeed(info.seed, params.seed), report)
          const ids = prompts.map((p) => p.ids)
          const a = models.rewards(judge!, ids, h.policy.ids, params.forwardBatchSize)
          const b = models.rewards(judge!, ids, h.baseline.ids, params.forwardBatchSize)
          return evals.evalRows(prompts, h, Array.from(a), Array.from(b), params.eps)
        })
      })
      return { eval: Table.make(PolicyEvalRow, rows, "eval") }
    })
})
