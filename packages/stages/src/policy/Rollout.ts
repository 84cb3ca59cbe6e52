/**
 * `rollout`: one PPO rollout round. Takes the iteration's batch of prompts (round = iteration;
 * a seeded stream of shuffled passes over the prompt table), samples a response to each from the
 * current policy (temperature, topK, topP, maxNewTokens; seed mixed with the iteration) and
 * records per sample the prompt and response ids, per-token log-probs of the policy and of the
 * frozen reference (SFT) model, the critic's values, the raw reward r(x, y) and the reward PPO
 * optimises: r(x, y) − r(x, y_ref) with `useBaseline` (ChatGLM-RLHF), else r(x, y).
 *
 * ppo-iteration runs the same code; this stage exists to inspect or hand-wire one round.
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { PolicyBaselineRow } from "../schemas/PolicyBaselineRow.ts"
import { PolicyRolloutRow } from "../schemas/PolicyRolloutRow.ts"
import { PromptRow } from "../schemas/PromptRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { CommonFields, int } from "./Params.ts"
import { RolloutFields } from "./PpoParams.ts"
import { attempt, loadRuntime, progressCallback } from "./Runtime.ts"
import { roundSeeds } from "./Seeds.ts"

/** Params of rollout. */
export const RolloutParams = Schema.Struct({
  /** The PPO iteration (1-based): picks the prompt batch and the sampling seed. */
  iteration: int(1, 1),
  ...RolloutFields,
  ...CommonFields
})

/** Samples and scores one PPO rollout batch. */
export const Rollout = Stage.make({
  name: "rollout",
  version: "1",
  description: "one PPO rollout round: policy samples with policy/reference log-probs, critic values and (baseline-subtracted) rewards",
  inputs: {
    prompts: PromptRow,
    tokenizer: TokenizerRow,
    policy: WeightsRow,
    ref: WeightsRow,
    critic: WeightsRow,
    rm: WeightsRow,
    baseline: PolicyBaselineRow
  },
  outputs: { rollouts: PolicyRolloutRow },
  params: RolloutParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const { models, rollout, parallel } = yield* loadRuntime
      const report = yield* progressCallback
      const seeds = roundSeeds(info.seed, params.seed, params.iteration, 0)
      const rows = yield* attempt(info.node, () => {
        const tok = models.loadTokenizer(inputs.tokenizer)
        return models.withModels([
          () => models.loadModel(inputs.policy, "policy", "lm"),
          () => models.loadModel(inputs.ref, "ref", "lm"),
          () => models.loadModel(inputs.critic, "critic", "value"),
          () => models.loadModel(inputs.rm, "rm", "reward")
        ], ([policy, ref, critic, rm]) => {
          const budget = models.promptBudget([policy, ref, critic, rm].map((m) => m!.config.contextLength), params.maxNewTokens, params.maxPromptTokens)
          const all = models.encodePrompts(tok, Table.toRows(inputs.prompts), budget)
          const prompts = rollout.roundPrompts(all, params.batchSize, params.iteration, seeds.prompts)
          const baseline = params.useBaseline ? models.baselineMap(Table.toRows(inputs.baseline)) : undefined
          return parallel.withPolicyPool(params.workers, { policy: policy! }, (pool) =>
            rollout.collectRollouts({ policy: policy!, ref: ref!, critic: critic!, rm: rm! }, tok, prompts, {
              sampling: params, seed: seeds.generate, round: params.iteration, baseline, pool
            }, (done, total) => report(done, total)))
        })
      })
      return { rollouts: Table.fromColumns(PolicyRolloutRow, rollout.rolloutColumns(rows)) }
    })
})
