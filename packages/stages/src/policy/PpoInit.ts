/**
 * `ppo-init`: what PPO iteration 1 starts from besides the policy (the SFT weights):
 * - `critic`: a value model initialised from `init` — the reward model, as in InstructGPT and
 *   OpenRLHF (its reward head becomes the value head), or the SFT model (fresh value head);
 * - `policyOptimizer`, `criticOptimizer`: empty AdamW states (the first iteration starts fresh
 *   optimisers with its own lr and weight decay);
 * - `state`: iteration 0 with the KL controller — β fixed (`klCoef`), or adaptive (Ziegler et al.
 *   2019: starts at `klCoef`, steers the KL per response towards `klTarget` over `klHorizon`
 *   samples).
 *
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { adaptiveKl, fixedKl } from "../ppo/KlController.ts"
import { PolicyOptimizerRow } from "../schemas/PolicyOptimizerRow.ts"
import { PolicyStateRow } from "../schemas/PolicyStateRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { bool, CommonFields, num, positive } from "./Params.ts"
import { stateTable } from "./PpoState.ts"
import { attempt, loadRuntime } from "./Runtime.ts"
import { mixSeed } from "./Seeds.ts"

/** Params of ppo-init. */
export const PpoInitParams = Schema.Struct({
  /** KL coefficient β (the start value when adaptive). */
  klCoef: num(0, 0.05),
  /** Adapt β towards klTarget (else β stays fixed). */
  adaptiveKl: bool(false),
  /** Target KL per response (nats) of the adaptive controller. */
  klTarget: positive(6),
  /** Horizon (samples) of the adaptive controller. */
  klHorizon: positive(10000),
  /** Copy the reward head of `init` into the value head (else a fresh value head). */
  copyHead: bool(true),
  ...CommonFields
})

/** Critic and empty optimiser / iteration-0 state for the first PPO iteration. */
export const PpoInit = Stage.make({
  name: "ppo-init",
  version: "1",
  description: "critic (value head) from the reward model or SFT weights, empty optimiser states and the iteration-0 KL state",
  inputs: { init: WeightsRow },
  outputs: { critic: WeightsRow, policyOptimizer: PolicyOptimizerRow, criticOptimizer: PolicyOptimizerRow, state: PolicyStateRow },
  params: PpoInitParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const { models, nn } = yield* loadRuntime
      const kl = params.adaptiveKl ? adaptiveKl(params.klCoef, params.klTarget, params.klHorizon) : fixedKl(params.klCoef)
      const arrow = yield* attempt(info.node, () => {
        const source = nn.Weights.loadWeights(inputs.init.arrow)
        try {
          const critic = models.criticFrom(source, mixSeed(info.seed, params.seed), params.copyHead)
          try {
            return nn.Weights.weightsToTable(critic)
          } finally {
            nn.Gpt.dispose(critic)
          }
        } finally {
          nn.Gpt.dispose(source)
        }
      })
      const empty = Table.make(PolicyOptimizerRow, [], "optimizer")
      return {
        critic: yield* Table.fromArrow(WeightsRow, arrow, "critic"),
        policyOptimizer: empty,
        criticOptimizer: empty,
        state: stateTable({ iteration: 0, kl, seed: 0 })
      }
    })
})
