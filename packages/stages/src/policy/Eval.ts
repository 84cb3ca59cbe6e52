/**
 * `eval`: head-to-head evaluation on the built-in task. The policy and a baseline policy (e.g. the
 * SFT model) answer each eval prompt (greedy by default); the task's ground-truth rule
 * (task/Rule.judge, `judge: "task-rule"`) scores both answers, and the higher score wins (a tie
 * within `eps`). One row per prompt; eval-summary turns them into win/tie/loss rates. For data
 * without a rule, use eval-rm with a separate judge reward model.
 *
 * Greedy or sampled: greedy answers compare the two models' modes, which for a policy trained
 * from the baseline often coincide (mostly ties). `greedy: false` samples both answers with
 * `temperature` (topK, topP) — the answers a chat model deployed with sampling gives, and at
 * temperature 1 exactly the distribution PPO's rollouts sample and optimise. Sampled answers
 * vary, so repeat each prompt in the prompts table (k samples per prompt) to bring the noise
 * of the rates down; both models answer row i with the same seed. The reference pipeline
 * (pipelines/chatglm-rlhf.ts) evaluates this way: temperature 1, 20 samples per held-out prompt.
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

/** Params of eval. */
export const EvalParams = Schema.Struct({
  /** The judge: the built-in task's ground-truth rule (the only one without a judge model). */
  judge: Schema.Literals(["task-rule"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("task-rule" as const))),
  ...EvalFields,
  ...CommonFields
})

/** Policy vs. baseline on eval prompts, judged by the task's rule. */
export const Eval = Stage.make({
  name: "eval",
  version: "1",
  description: "policy vs. baseline answers to eval prompts, judged by the built-in task's ground-truth rule",
  inputs: { prompts: PromptRow, tokenizer: TokenizerRow, policy: WeightsRow, baseline: WeightsRow },
  outputs: { eval: PolicyEvalRow },
  params: EvalParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const { models, evals } = yield* loadRuntime
      const report = yield* progressCallback
      const rows = yield* attempt(info.node, () => {
        const tok = models.loadTokenizer(inputs.tokenizer)
        return models.withModels([() => models.loadModel(inputs.policy, "policy", "lm"), () => models.loadModel(inputs.baseline, "baseline", "lm")], ([policy, baseline]) => {
          const budget = models.promptBudget([policy!.config.contextLength, baseline!.config.contextLength], params.maxNewTokens, params.maxPromptTokens)
          const prompts = models.encodePrompts(tok, Table.toRows(inputs.prompts), budget)
          const h = evals.answer(policy!, baseline!, tok, prompts, params, mixSeed(info.seed, params.seed), report)
          const a = evals.ruleScores(prompts, h.policyText), b = evals.ruleScores(prompts, h.baselineText)
          return evals.evalRows(prompts, h, a, b, params.eps)
        })
      })
      return { eval: Table.make(PolicyEvalRow, rows, "eval") }
    })
})
