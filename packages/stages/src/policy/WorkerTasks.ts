/**
 * What the data-parallel threads of the policy stages compute (the task module ParallelSteps
 * opens its pools with; the parent thread runs the first shard, workers the others): the shard losses of DPO ("dpo") and PPO ("ppo-policy", "ppo-critic"),
 * and sampling a shard of a rollout's prompts ("generate"). Shards arrive as plain arrays (see
 * ParallelSteps) and become the tensors the in-process steps use; the losses are StepLosses',
 * weighted by the shard's share.
 *
 * Also loaded inside worker threads: it imports nothing that pulls in the engine (effect, schemas).
 */
import type * as DataParallel from "@rlhf/nn/DataParallel"
import * as Generate from "@rlhf/nn/Generate"
import * as LmParallel from "@rlhf/nn/LmParallel"
import * as LogProbs from "@rlhf/nn/LogProbs"
import * as tf from "@tensorflow/tfjs-core"
import { dpoStepLoss, gatherRows, ppoCriticLoss, ppoPolicyLoss, type PolicyTerms } from "./StepLosses.ts"

/** k preference pairs with their reference log-probs and their share of the batch's pairs. */
export interface DpoShard {
  readonly prompts: Int32Array[]
  readonly chosen: Int32Array[]
  readonly rejected: Int32Array[]
  readonly refChosen: number[]
  readonly refRejected: number[]
  readonly beta: number
  readonly share: number
  readonly contextLength: number
}

/** Rollouts of a minibatch with their per-token rows (full width; cut to the shard's), and their share of its response tokens. */
export interface PpoShard {
  readonly prompts: Int32Array[]
  readonly responses: Int32Array[]
  readonly share: number
  readonly contextLength: number
}

/** What the policy step of a shard needs besides the rollouts. */
export interface PolicyShard extends PpoShard {
  readonly oldLogp: Float32Array[]
  readonly advantages: Float32Array[]
  readonly terms: PolicyTerms
  /** This shard's rows of the PTX batch, if PTX is on and any fell to it. */
  readonly ptx: LmParallel.LmShard | undefined
}

/** What the critic step of a shard needs besides the rollouts. */
export interface CriticShard extends PpoShard {
  readonly oldValues: Float32Array[]
  readonly returns: Float32Array[]
  readonly valueClip: number
}

/** Prompts to sample responses for, in batches each drawn from its own seed. */
export interface GeneratePayload {
  readonly model: string
  readonly prompts: Int32Array[]
  /** [start, end) of `prompts` and the seed of each batch. */
  readonly batches: ReadonlyArray<{ readonly start: number; readonly end: number; readonly seed: number }>
  readonly options: Omit<Generate.GenerateOptions, "seed">
}

const rowsOf = (s: PpoShard) => s.prompts.map((_, i) => i)

export const tasks: DataParallel.WorkerTasks = {
  losses: {
    dpo: (ctx: DataParallel.LossContext, s: DpoShard, report: (x: tf.Tensor) => void) => {
      const batch = LogProbs.sequenceBatch([...s.prompts, ...s.prompts], [...s.chosen, ...s.rejected], s.contextLength)
      return dpoStepLoss(ctx.model, batch, tf.tensor1d(s.refChosen), tf.tensor1d(s.refRejected), s.beta, s.share, report)
    },
    "ppo-policy": (ctx: DataParallel.LossContext, s: PolicyShard, report: (x: tf.Tensor) => void) => {
      const batch = LogProbs.sequenceBatch(s.prompts, s.responses, s.contextLength)
      const r = batch.responseMask.shape[1]
      const ptx = s.ptx === undefined ? undefined : LmParallel.lmShardBatch(s.ptx)
      return ppoPolicyLoss(ctx.model, batch, gatherRows(s.oldLogp, rowsOf(s), r), gatherRows(s.advantages, rowsOf(s), r), ptx, s.terms, { tokens: s.share, ptx: s.ptx?.share ?? 0 }, report)
    },
    "ppo-critic": (ctx: DataParallel.LossContext, s: CriticShard, report: (x: tf.Tensor) => void) => {
      const batch = LogProbs.sequenceBatch(s.prompts, s.responses, s.contextLength)
      const r = batch.responseMask.shape[1]
      return ppoCriticLoss(ctx.model, batch, gatherRows(s.oldValues, rowsOf(s), r), gatherRows(s.returns, rowsOf(s), r), s.valueClip, s.share, report)
    }
  },
  jobs: {
    generate: (ctx: DataParallel.WorkerContext, p: GeneratePayload) => {
      const model = ctx.models.get(p.model)
      if (model === undefined) throw new Error(`generate: no replica named "${p.model}"`)
      const tokens: Int32Array[] = [], finished: boolean[] = []
      for (const b of p.batches) {
        const g = Generate.generate(model, p.prompts.slice(b.start, b.end), { ...p.options, seed: b.seed })
        tokens.push(...g.tokens), finished.push(...g.finished)
      }
      return { value: { tokens, finished }, transfer: [...new Set(tokens.map((t) => t.buffer as ArrayBuffer))] }
    }
  }
}

/** This module's tasks, for the pool's `taskModules`. */
export const taskModule: DataParallel.TaskModule = { url: import.meta.url, tasks }
