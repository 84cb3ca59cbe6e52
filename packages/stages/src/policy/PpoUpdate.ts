/**
 * `ppo-update`: one PPO update of policy and critic on a rollout batch (see PpoLoop.ts for the
 * recipe): per-token KL penalty folded into the reward (β from the KL state: fixed, or the
 * adaptive controller, whose state comes in and goes out), GAE, optional advantage whitening,
 * clipped surrogate and clipped value losses over several epochs of minibatches, and PTX:
 * with ptxCoef > 0 the next-token loss on the `sft` demonstrations, weighted by λ_ptx, is added
 * to the PPO policy loss and both are descended in one optimiser step (the paper's defence
 * against forgetting; ptxCoef 0 turns it off and leaves `sft` unread).
 *
 * Outputs the new weights, both AdamW states (moments + step), the next state and metrics.
 * ppo-iteration runs the same code; this stage exists to inspect or hand-wire one update.
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { MetricRow, metricsTable } from "../schemas/MetricRow.ts"
import { PolicyOptimizerRow } from "../schemas/PolicyOptimizerRow.ts"
import { PolicyRolloutRow } from "../schemas/PolicyRolloutRow.ts"
import { PolicyStateRow } from "../schemas/PolicyStateRow.ts"
import { SftRow } from "../schemas/SftRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { CommonFields, int } from "./Params.ts"
import { UpdateFields } from "./PpoParams.ts"
import { checkIteration, checkpointTables, readState, stateTable, statsRows } from "./PpoState.ts"
import { attempt, loadRuntime, progressCallback } from "./Runtime.ts"
import { roundSeeds } from "./Seeds.ts"

/** Params of ppo-update. */
export const PpoUpdateParams = Schema.Struct({
  /** The PPO iteration (1-based): seeds the minibatch order; the state input must come from iteration − 1. */
  iteration: int(1, 1),
  ...UpdateFields,
  ...CommonFields
})

/** One PPO update of policy and critic on a rollout batch. */
export const PpoUpdate = Stage.make({
  name: "ppo-update",
  version: "1",
  description: "one PPO update (KL-penalised rewards, GAE, clipped policy/value losses, optional PTX) of policy and critic",
  inputs: {
    rollouts: PolicyRolloutRow,
    tokenizer: TokenizerRow,
    policy: WeightsRow,
    critic: WeightsRow,
    policyOptimizer: PolicyOptimizerRow,
    criticOptimizer: PolicyOptimizerRow,
    state: PolicyStateRow,
    sft: SftRow
  },
  outputs: {
    policy: WeightsRow,
    critic: WeightsRow,
    policyOptimizer: PolicyOptimizerRow,
    criticOptimizer: PolicyOptimizerRow,
    state: PolicyStateRow,
    metrics: MetricRow
  },
  params: PpoUpdateParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const { models, rollout, ppo, parallel } = yield* loadRuntime
      const report = yield* progressCallback
      const seeds = roundSeeds(info.seed, params.seed, params.iteration, 0)
      const out = yield* attempt(info.node, () => {
        const carry = readState(inputs.state)
        checkIteration(carry, params.iteration)
        const tok = models.loadTokenizer(inputs.tokenizer)
        return ppo.withPpoState(inputs, params.weightDecay, (s) => {
          const ptx = params.ptxCoef > 0 ? models.encodeSft(tok, Table.toRows(inputs.sft), s.policy.config.contextLength) : []
          const rollouts = rollout.rolloutsFromRows(Table.toRows(inputs.rollouts))
          const result = parallel.withPolicyPool(params.workers, { policy: s.policy, critic: s.critic }, (pool) =>
            ppo.ppoUpdate(s, rollouts, carry.kl, ptx, params, seeds.update, (done, total) => report(done, total), pool))
          return { checkpoint: ppo.checkpoint(s), ...result }
        })
      })
      return {
        ...(yield* checkpointTables(out.checkpoint)),
        state: stateTable({ iteration: params.iteration, kl: out.kl, seed: seeds.iteration }),
        metrics: metricsTable(statsRows(out.stats, params.iteration))
      }
    })
})
