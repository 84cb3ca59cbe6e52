/**
 * How the policy stages compute on `workers` > 1 threads (the stage's own and workers − 1 worker
 * threads with replicas of the models they train or sample from): DPO and PPO steps with each
 * minibatch cut into one shard of contiguous rows per thread (WorkerTasks computes the shard
 * losses), and rollout sampling with the prompts cut into batches spread over the threads.
 *
 * Every shard's loss is weighted by its share of the batch (pairs for DPO, response / PTX tokens
 * for PPO), so a step descends the same loss as in process; metrics add up the same way. For a
 * fixed worker count the shards, and so the results, are deterministic.
 *
 * This module loads TensorFlow.js.
 */
import * as DataParallel from "@rlhf/nn/DataParallel"
import type * as Gpt from "@rlhf/nn/Gpt"
import * as LmParallel from "@rlhf/nn/LmParallel"
import type * as Train from "@rlhf/nn/Train"
import type * as AdamW from "@rlhf/nn/AdamW"
import type { DpoPair } from "./DpoLoop.ts"
import { generateOptions, type Responses } from "./Models.ts"
import type { Sampling } from "./Params.ts"
import type { PpoOptions, PpoState, StepReport } from "./PpoLoop.ts"
import type { Rollout } from "./RolloutLoop.ts"
import { mixSeed } from "./Seeds.ts"
import { type CriticShard, type DpoShard, type GeneratePayload, type PolicyShard, taskModule } from "./WorkerTasks.ts"

/**
 * Runs `body` with a pool of `workers` threads, the workers holding replicas of `models` (by
 * replica name: "policy", "critic"), closed afterwards; with one `body` gets undefined (in process).
 */
export const withPolicyPool = <A>(workers: number, models: Readonly<Record<string, Gpt.Model>>, body: (pool: DataParallel.Pool | undefined) => A): A =>
  DataParallel.withPool({
    workers,
    models: Object.fromEntries(Object.entries(models).map(([name, m]) => [name, { config: m.config, head: m.head }])),
    taskModules: [taskModule]
  }, body)

const concat = (parts: ReadonlyArray<Float32Array>): Float32Array => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) out.set(p, at), (at += p.length)
  return out
}

/** Scalar reports added up over the shards, as one-element arrays (the form of an in-process StepReport). */
const summed = (r: DataParallel.StepResult): StepReport => ({
  loss: r.loss,
  gradNorm: r.gradNorm,
  reported: DataParallel.sumReports(r.reports).map((x) => Float32Array.of(x))
})

/**
 * One data-parallel DPO step of replica "policy" on `picked` pairs; reports (as the in-process
 * step) the 2k sequence log-probs, chosen then rejected.
 */
export const dpoStep = (
  pool: DataParallel.Pool,
  policy: Gpt.Model,
  opt: AdamW.Optimizer,
  lr: number,
  o: { readonly beta: number; readonly maxGradNorm: number },
  picked: ReadonlyArray<DpoPair>,
  refChosen: ReadonlyArray<number>,
  refRejected: ReadonlyArray<number>
): StepReport => {
  const k = picked.length
  const shards: DpoShard[] = DataParallel.shardRanges(k, pool.size).map(([a, b]) => ({
    prompts: picked.slice(a, b).map((p) => p.prompt),
    chosen: picked.slice(a, b).map((p) => p.chosen),
    rejected: picked.slice(a, b).map((p) => p.rejected),
    refChosen: refChosen.slice(a, b),
    refRejected: refRejected.slice(a, b),
    beta: o.beta,
    share: (b - a) / k,
    contextLength: policy.config.contextLength
  }))
  const r = pool.step("policy", policy, opt, "dpo", shards, { lr, maxGradNorm: o.maxGradNorm })
  // Each shard reported its chosen log-probs, then its rejected ones.
  const seq = r.reports.map((rep) => rep[0]!)
  const sizes = shards.map((s) => s.prompts.length)
  const chosen = concat(seq.map((s, i) => s.subarray(0, sizes[i]))), rejected = concat(seq.map((s, i) => s.subarray(sizes[i])))
  return { loss: r.loss, gradNorm: r.gradNorm, reported: [concat([chosen, rejected])] }
}

/** Per-token rows of all rollouts (full width), as ppoUpdate computes them. */
export interface PpoRows {
  readonly logp: ReadonlyArray<Float32Array>
  readonly advantages: ReadonlyArray<Float32Array>
  readonly returns: ReadonlyArray<Float32Array>
  readonly oldValues: ReadonlyArray<Float32Array>
}

/**
 * One data-parallel PPO minibatch (rollouts `idx`): a policy step (with the PTX batch, if any, cut
 * over the same threads) and a critic step; reports as the in-process steps.
 */
export const ppoSteps = (
  pool: DataParallel.Pool,
  s: PpoState,
  rollouts: ReadonlyArray<Rollout>,
  idx: ReadonlyArray<number>,
  rows: PpoRows,
  ptx: Train.LmBatch | undefined,
  o: PpoOptions
): { policyStep: StepReport; criticStep: StepReport } => {
  const contextLength = s.policy.config.contextLength
  const tokens = idx.map((i) => rollouts[i]!.responseIds.length)
  const total = tokens.reduce((a, b) => a + b, 0)
  const ranges = DataParallel.shardRanges(idx.length, pool.size)
  const ptxShards = ptx === undefined ? [] : LmParallel.lmShards(ptx, ranges.length)
  const base = ranges.map(([a, b]) => {
    const mine = idx.slice(a, b)
    return {
      mine,
      shard: {
        prompts: mine.map((i) => rollouts[i]!.promptIds),
        responses: mine.map((i) => rollouts[i]!.responseIds),
        share: total > 0 ? tokens.slice(a, b).reduce((x, y) => x + y, 0) / total : 0,
        contextLength
      }
    }
  })
  const policyShards: PolicyShard[] = base.map(({ mine, shard }, i) => ({
    ...shard,
    oldLogp: mine.map((j) => rows.logp[j]!),
    advantages: mine.map((j) => rows.advantages[j]!),
    terms: { clipEps: o.clipEps, entropyCoef: o.entropyCoef, ptxCoef: o.ptxCoef },
    ptx: ptxShards[i]
  }))
  const criticShards: CriticShard[] = base.map(({ mine, shard }) => ({
    ...shard,
    oldValues: mine.map((j) => rows.oldValues[j]!),
    returns: mine.map((j) => rows.returns[j]!),
    valueClip: o.valueClip
  }))
  const policyStep = summed(pool.step("policy", s.policy, s.policyOpt, "ppo-policy", policyShards, { lr: o.lr, maxGradNorm: o.maxGradNorm }))
  const criticStep = summed(pool.step("critic", s.critic, s.criticOpt, "ppo-critic", criticShards, { lr: o.criticLr, maxGradNorm: o.maxGradNorm }))
  return { policyStep, criticStep }
}

/**
 * Samples one response per prompt on the pool's threads (replica "policy", published from
 * `policy`). The prompts are cut into batches of min(forwardBatchSize, ⌈n / workers⌉), batch b
 * drawing from the seed (seed, b) as Models.generate's batches do, and each thread takes a
 * contiguous run of batches. With n ≥ workers × forwardBatchSize the batches, and so the samples,
 * are the in-process ones; otherwise smaller batches keep every thread busy, and the samples
 * depend on the worker count (deterministically).
 */
export const generate = (pool: DataParallel.Pool, policy: Gpt.Model, prompts: ReadonlyArray<Int32Array>, s: Sampling, seed: number, onBatch?: (done: number) => void): Responses => {
  const n = prompts.length
  if (n === 0) return { ids: [], finished: [] }
  const size = Math.max(1, Math.min(s.forwardBatchSize, Math.ceil(n / pool.size)))
  const batches = Array.from({ length: Math.ceil(n / size) }, (_, b) => ({ start: b * size, end: Math.min(n, (b + 1) * size), seed: mixSeed(seed, b) }))
  const options = generateOptions(s)
  const payloads: GeneratePayload[] = DataParallel.shardRanges(batches.length, pool.size).map(([a, b]) => {
    const from = batches[a]!.start
    return {
      model: "policy",
      prompts: prompts.slice(from, batches[b - 1]!.end),
      batches: batches.slice(a, b).map((x) => ({ start: x.start - from, end: x.end - from, seed: x.seed })),
      options
    }
  })
  const out = pool.run("generate", payloads, { policy }) as Array<{ tokens: Int32Array[]; finished: boolean[] }>
  onBatch?.(n)
  return { ids: out.flatMap((o) => o.tokens), finished: out.flatMap((o) => o.finished) }
}
