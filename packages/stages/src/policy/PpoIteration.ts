/**
 * `ppo-iteration`: one cacheable PPO checkpoint — `stepsPerCheckpoint` rounds of rollout → update
 * (the code of the rollout and ppo-update stages), carrying everything a later iteration needs in
 * its outputs: weights of policy and critic, both AdamW states, and the state row (iteration,
 * KL controller, and the iteration's seed). All randomness derives from (run seed, `seed`,
 * iteration, round), so a pipeline can unroll N iterations as groups,
 *
 *   let s = init
 *   for (let i = 1; i <= N; i++) s = p.group(`ppo-${i}`, (g) => g.add("iteration", PpoIteration, { inputs: { …s }, params: { iteration: i } }).out)
 *
 * and raising N reuses iterations 1..N from the cache, while a run killed in iteration k resumes
 * at k and ends with the same weights as an uninterrupted run.
 *
 * Round r (1-based over all iterations: r = (iteration − 1)·stepsPerCheckpoint + step) takes the
 * r-th batch of a seeded stream of shuffled passes over the prompts. Rewards are
 * r(x, y) − r(x, y_ref) with `useBaseline` (ChatGLM-RLHF), PTX is on with ptxCoef > 0.
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { MetricRow, metricsTable } from "../schemas/MetricRow.ts"
import { PolicyBaselineRow } from "../schemas/PolicyBaselineRow.ts"
import { PolicyOptimizerRow } from "../schemas/PolicyOptimizerRow.ts"
import { PolicyRolloutRow } from "../schemas/PolicyRolloutRow.ts"
import { PolicyStateRow } from "../schemas/PolicyStateRow.ts"
import { PromptRow } from "../schemas/PromptRow.ts"
import { SftRow } from "../schemas/SftRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { CommonFields, int } from "./Params.ts"
import { RolloutFields, UpdateFields } from "./PpoParams.ts"
import { checkIteration, checkpointTables, readState, stateTable, statsRows } from "./PpoState.ts"
import { attempt, loadRuntime, progressCallback } from "./Runtime.ts"
import { roundSeeds } from "./Seeds.ts"

/** Params of ppo-iteration. */
export const PpoIterationParams = Schema.Struct({
  /** This iteration (1-based); the state input must come from iteration − 1 (ppo-init's for 1). */
  iteration: int(1, 1),
  /** Rollout → update rounds per iteration (per cached checkpoint). */
  stepsPerCheckpoint: int(1, 1),
  ...RolloutFields,
  ...UpdateFields,
  ...CommonFields
})

/** `stepsPerCheckpoint` PPO rounds from one checkpoint to the next. */
export const PpoIteration = Stage.make({
  name: "ppo-iteration",
  version: "1",
  description: "stepsPerCheckpoint PPO rounds (rollout → update) from one cached checkpoint (weights, optimisers, KL and seed state) to the next",
  inputs: {
    prompts: PromptRow,
    tokenizer: TokenizerRow,
    policy: WeightsRow,
    ref: WeightsRow,
    critic: WeightsRow,
    rm: WeightsRow,
    baseline: PolicyBaselineRow,
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
    metrics: MetricRow,
    rollouts: PolicyRolloutRow
  },
  params: PpoIterationParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const { models, rollout, ppo, parallel } = yield* loadRuntime
      const report = yield* progressCallback
      const steps = params.stepsPerCheckpoint
      const out = yield* attempt(info.node, () => {
        const carry = readState(inputs.state)
        checkIteration(carry, params.iteration)
        const tok = models.loadTokenizer(inputs.tokenizer)
        const loads = [() => models.loadModel(inputs.ref, "ref", "lm"), () => models.loadModel(inputs.rm, "rm", "reward")]
        return models.withModels(loads, ([ref, rm]) =>
          ppo.withPpoState(inputs, params.weightDecay, (s) => parallel.withPolicyPool(params.workers, { policy: s.policy, critic: s.critic }, (pool) => {
            const budget = models.promptBudget([s.policy, ref!, s.critic, rm!].map((m) => m.config.contextLength), params.maxNewTokens, params.maxPromptTokens)
            const prompts = models.encodePrompts(tok, Table.toRows(inputs.prompts), budget)
            const baseline = params.useBaseline ? models.baselineMap(Table.toRows(inputs.baseline)) : undefined
            const ptx = params.ptxCoef > 0 ? models.encodeSft(tok, Table.toRows(inputs.sft), s.policy.config.contextLength) : []
            let kl = carry.kl
            const rollouts: Array<ReturnType<typeof rollout.collectRollouts>[number]> = []
            const metrics: Array<typeof MetricRow.Type> = []
            for (let step = 0; step < steps; step++) {
              const seeds = roundSeeds(info.seed, params.seed, params.iteration, step)
              const round = (params.iteration - 1) * steps + step + 1
              const batch = rollout.roundPrompts(prompts, params.batchSize, round, seeds.prompts)
              // Progress in thousandths of a phase (rollout, update) of a round.
              const phase = (k: number, label: string) => (done: number, total: number) =>
                report(Math.round(1000 * (2 * step + k + done / total)), 2000 * steps, `round ${round} ${label}`)
              const rs = rollout.collectRollouts({ policy: s.policy, ref: ref!, critic: s.critic, rm: rm! }, tok, batch, {
                sampling: params, seed: seeds.generate, round, baseline, pool
              }, phase(0, "rollout"))
              const result = ppo.ppoUpdate(s, rs, kl, ptx, params, seeds.update, phase(1, "update"), pool)
              kl = result.kl
              rollouts.push(...rs)
              metrics.push(...statsRows(result.stats, round))
              report(2000 * (step + 1), 2000 * steps, `round ${round} · reward ${result.stats["reward_mean"]!.toFixed(3)} · kl ${result.stats["kl"]!.toFixed(3)}`)
            }
            return { checkpoint: ppo.checkpoint(s), kl, rollouts, metrics }
          })))
      })
      return {
        ...(yield* checkpointTables(out.checkpoint)),
        state: stateTable({ iteration: params.iteration, kl: out.kl, seed: roundSeeds(info.seed, params.seed, params.iteration, 0).iteration }),
        metrics: metricsTable(out.metrics),
        rollouts: Table.fromColumns(PolicyRolloutRow, rollout.rolloutColumns(out.rollouts))
      }
    })
})
