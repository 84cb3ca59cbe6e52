/**
 * Pipeline helpers for PPO: unroll N ppo-iteration nodes as groups `ppo-1`, `ppo-2`, … whose
 * carried outputs (weights, optimiser states, state row) feed the next iteration. Each iteration
 * is its own cached node, so raising N reuses iterations 1..N and a killed run resumes at the
 * iteration it was in.
 *
 * @example
 * ```ts
 * const init = p.add("ppo-init", PpoInit, { inputs: { init: rm.out.weights } })
 * const n = p.param("iterations", Schema.Int, 20)
 * const { last } = addPpoIterations(p, {
 *   iterations: n,
 *   fixed: { prompts, tokenizer, ref: sft.out.weights, rm: rm.out.weights, baseline: base.out.baseline, sft: sftData },
 *   start: ppoStart(sft.out.weights, init.out),
 *   params: { batchSize: 32, ptxCoef: 0.1 }
 * })
 * p.add("eval", Eval, { inputs: { …, policy: last.policy } })
 * ```
 */
import type { Builder, OutputRef } from "@rlhf/core"
import type { PolicyBaselineRow } from "../schemas/PolicyBaselineRow.ts"
import type { PolicyOptimizerRow } from "../schemas/PolicyOptimizerRow.ts"
import type { PolicyStateRow } from "../schemas/PolicyStateRow.ts"
import type { PromptRow } from "../schemas/PromptRow.ts"
import type { SftRow } from "../schemas/SftRow.ts"
import type { TokenizerRow } from "../schemas/TokenizerRow.ts"
import type { WeightsRow } from "../schemas/WeightsRow.ts"
import { PpoIteration, type PpoIterationParams } from "./PpoIteration.ts"

/** What one iteration hands to the next. */
export interface PpoCarryRefs {
  readonly policy: OutputRef<typeof WeightsRow>
  readonly critic: OutputRef<typeof WeightsRow>
  readonly policyOptimizer: OutputRef<typeof PolicyOptimizerRow>
  readonly criticOptimizer: OutputRef<typeof PolicyOptimizerRow>
  readonly state: OutputRef<typeof PolicyStateRow>
}

/** Inputs every iteration shares. */
export interface PpoFixedRefs {
  readonly prompts: OutputRef<typeof PromptRow>
  readonly tokenizer: OutputRef<typeof TokenizerRow>
  /** The frozen reference (SFT) model. */
  readonly ref: OutputRef<typeof WeightsRow>
  readonly rm: OutputRef<typeof WeightsRow>
  readonly baseline: OutputRef<typeof PolicyBaselineRow>
  /** SFT demonstrations for PTX (unread when ptxCoef is 0). */
  readonly sft: OutputRef<typeof SftRow>
}

/** The carried outputs of a ppo-iteration (or ppo-update) node. */
export const carryOf = (out: PpoCarryRefs): PpoCarryRefs => ({
  policy: out.policy,
  critic: out.critic,
  policyOptimizer: out.policyOptimizer,
  criticOptimizer: out.criticOptimizer,
  state: out.state
})

/** Iteration 1's carry: the SFT weights as policy, and ppo-init's critic, empty optimisers and state. */
export const ppoStart = (
  policy: OutputRef<typeof WeightsRow>,
  init: Omit<PpoCarryRefs, "policy">
): PpoCarryRefs => ({ policy, critic: init.critic, policyOptimizer: init.policyOptimizer, criticOptimizer: init.criticOptimizer, state: init.state })

/** Options of {@link addPpoIterations}. */
export interface PpoIterationsOptions {
  readonly iterations: number
  readonly fixed: PpoFixedRefs
  readonly start: PpoCarryRefs
  /** Params of every iteration (`iteration` is set per node). */
  readonly params?: Omit<Partial<typeof PpoIterationParams.Encoded>, "iteration">
  /** Group id prefix (default "ppo": groups ppo-1, ppo-2, …; the node inside is "iteration"). */
  readonly prefix?: string
}

/** Adds `iterations` chained ppo-iteration nodes; returns each node and the last carry (the start when 0). */
export const addPpoIterations = (p: Builder, o: PpoIterationsOptions) => {
  let carry = o.start
  const nodes: Array<ReturnType<typeof addOne>> = []
  const addOne = (i: number, from: PpoCarryRefs) =>
    p.group(`${o.prefix ?? "ppo"}-${i}`, (g) => g.add("iteration", PpoIteration, { inputs: { ...o.fixed, ...from }, params: { ...o.params, iteration: i } }))
  for (let i = 1; i <= o.iterations; i++) {
    const node = addOne(i, carry)
    nodes.push(node)
    carry = carryOf(node.out)
  }
  return { nodes, last: carry }
}
