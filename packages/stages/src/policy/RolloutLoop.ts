/**
 * PPO rollouts: sample responses from the current policy and record what the update needs —
 * per-token log-probs of the policy and of the frozen reference, critic values, and the reward
 * r(x, y) − r(x, y_ref) (ChatGLM-RLHF's reward variance reduction; the raw reward when the
 * baseline is off).
 *
 * This module loads TensorFlow.js (through Models.ts).
 */
import type * as DataParallel from "@rlhf/nn/DataParallel"
import type * as Gpt from "@rlhf/nn/Gpt"
import type * as Tokenizer from "@rlhf/nn/Tokenizer"
import type { PolicyRolloutRow } from "../schemas/PolicyRolloutRow.ts"
import * as Models from "./Models.ts"
import * as ParallelSteps from "./ParallelSteps.ts"
import type { Sampling } from "./Params.ts"
import { roundBatch } from "./PromptBatches.ts"

/** The four models of a rollout. */
export interface RolloutModels {
  readonly policy: Gpt.Model
  readonly ref: Gpt.Model
  readonly critic: Gpt.Model
  readonly rm: Gpt.Model
}

/** One rollout sample (the row type of PolicyRolloutRow, with typed arrays). */
export interface Rollout {
  readonly key: string
  readonly round: number
  readonly promptIds: Int32Array
  readonly responseIds: Int32Array
  readonly response: string
  readonly finished: boolean
  readonly logProbs: Float32Array
  readonly refLogProbs: Float32Array
  readonly values: Float32Array
  readonly reward: number
  readonly rawReward: number
  readonly baselineReward: number
}

/** Settings of {@link collectRollouts}. */
export interface RolloutOptions {
  readonly sampling: Sampling
  readonly seed: number
  readonly round: number
  /** Reference rewards by prompt key (subtracted from the raw reward), or undefined to use raw rewards. */
  readonly baseline: ReadonlyMap<string, number> | undefined
  /** Data-parallel workers (replica "policy") that sample the responses; undefined: in process. */
  readonly pool?: DataParallel.Pool | undefined
}

/** Samples one response per prompt and scores it; `onProgress` gets (done, total) sub-steps. */
export const collectRollouts = (
  m: RolloutModels,
  tok: Tokenizer.Tokenizer,
  prompts: ReadonlyArray<Models.PromptItem>,
  o: RolloutOptions,
  onProgress?: (done: number, total: number) => void
): Rollout[] => {
  const bs = o.sampling.forwardBatchSize
  const baselines = prompts.map((p) => {
    if (o.baseline === undefined) return 0
    const b = o.baseline.get(p.key)
    if (b === undefined) throw new Error(`no reference-baseline row for prompt ${JSON.stringify(p.text)}; run reference-baseline on the same prompts table, or set useBaseline: false`)
    return b
  })
  const ids = prompts.map((p) => p.ids)
  const total = prompts.length + 4
  const onBatch = (done: number) => onProgress?.(done, total)
  const gen = o.pool === undefined ? Models.generate(m.policy, ids, o.sampling, o.seed, onBatch) : ParallelSteps.generate(o.pool, m.policy, ids, o.sampling, o.seed, onBatch)
  const logp = Models.logProbs(m.policy, ids, gen.ids, bs)
  onProgress?.(prompts.length + 1, total)
  const refLogp = Models.logProbs(m.ref, ids, gen.ids, bs)
  onProgress?.(prompts.length + 2, total)
  const values = Models.criticValues(m.critic, ids, gen.ids, bs)
  onProgress?.(prompts.length + 3, total)
  const raw = Models.rewards(m.rm, ids, gen.ids, bs)
  onProgress?.(total, total)
  return prompts.map((p, i) => ({
    key: p.key,
    round: o.round,
    promptIds: p.ids,
    responseIds: gen.ids[i]!,
    response: Models.responseText(tok, gen.ids[i]!),
    finished: gen.finished[i]!,
    logProbs: logp[i]!,
    refLogProbs: refLogp[i]!,
    values: values[i]!,
    reward: raw[i]! - baselines[i]!,
    rawReward: raw[i]!,
    baselineReward: baselines[i]!
  }))
}

/** Rollouts as PolicyRolloutRow columns. */
export const rolloutColumns = (rs: ReadonlyArray<Rollout>): Record<keyof typeof PolicyRolloutRow.Type, unknown[]> => ({
  key: rs.map((r) => r.key),
  round: rs.map((r) => r.round),
  promptIds: rs.map((r) => r.promptIds),
  responseIds: rs.map((r) => r.responseIds),
  response: rs.map((r) => r.response),
  finished: rs.map((r) => r.finished),
  logProbs: rs.map((r) => r.logProbs),
  refLogProbs: rs.map((r) => r.refLogProbs),
  values: rs.map((r) => r.values),
  reward: rs.map((r) => r.reward),
  rawReward: rs.map((r) => r.rawReward),
  baselineReward: rs.map((r) => r.baselineReward)
})

/** Rollouts read back from PolicyRolloutRow rows. */
export const rolloutsFromRows = (rows: ReadonlyArray<typeof PolicyRolloutRow.Type>): Rollout[] =>
  rows.map((r) => ({
    key: r.key,
    round: r.round,
    promptIds: Int32Array.from(r.promptIds),
    responseIds: Int32Array.from(r.responseIds),
    response: r.response,
    finished: r.finished,
    logProbs: Float32Array.from(r.logProbs),
    refLogProbs: Float32Array.from(r.refLogProbs),
    values: Float32Array.from(r.values),
    reward: r.reward,
    rawReward: r.rawReward,
    baselineReward: r.baselineReward
  }))

/** The prompts of round `round` (1-based, counted over all iterations). */
export const roundPrompts = (prompts: ReadonlyArray<Models.PromptItem>, batchSize: number, round: number, seed: number): Models.PromptItem[] =>
  roundBatch(prompts.length, batchSize, round - 1, seed).map((i) => prompts[i]!)
