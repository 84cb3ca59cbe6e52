/**
 * Data-parallel rm-train steps. A batch of pairs is cut into one shard of whole pairs per thread
 * of the pool; each scores its chosen and rejected responses and takes the gradient of its share of the
 * Bradley-Terry + score-prior loss (its pairs' mean loss × its share of the batch's pairs), so the
 * shares add up to the batch loss; the parent sums the gradients and steps (DataParallel).
 *
 * This module is also the pool's task module ("rm-pairs"); it loads TensorFlow.js.
 */
import * as DataParallel from "@rlhf/nn/DataParallel"
import type * as Gpt from "@rlhf/nn/Gpt"
import type * as AdamW from "@rlhf/nn/AdamW"
import * as tf from "@tensorflow/tfjs-core"
import { bradleyTerryForGradient } from "../ppo/BradleyTerry.ts"
import { rewardModelLoss } from "../ppo/RewardModelLoss.ts"
import * as Scoring from "./RewardScoring.ts"

/** The replica rm-train trains. */
export const REPLICA = "reward"

/** One thread's pairs and their share of the batch. */
interface RmShard {
  readonly prompts: Int32Array[]
  readonly chosen: Int32Array[]
  readonly rejected: Int32Array[]
  readonly share: number
  readonly scorePrior: number
}

/** Worker-side: the share of the loss of a shard of pairs; reports the 2k scores (chosen, then rejected). */
export const tasks: DataParallel.WorkerTasks = {
  losses: {
    "rm-pairs": (ctx: DataParallel.LossContext, s: RmShard, report: (x: tf.Tensor) => void) => {
      const k = s.prompts.length
      const batch = Scoring.rewardBatch([
        ...s.chosen.map((response, i) => ({ prompt: s.prompts[i]!, response })),
        ...s.rejected.map((response, i) => ({ prompt: s.prompts[i]!, response }))
      ])
      const scores = Scoring.batchScores(ctx.model, batch)
      report(scores)
      return tf.mul(bradleyTerryForGradient(tf, tf.slice(scores, 0, k), tf.slice(scores, k, k), s.scorePrior), s.share) as tf.Scalar
    }
  }
}

/** This module's tasks, for the pool's `taskModules`. */
export const taskModule: DataParallel.TaskModule = { url: import.meta.url, tasks }

/** What one step reports, as rm-train's in-process step does. */
export interface RmStepResult {
  readonly loss: number
  readonly accuracy: number
  readonly margin: number
  readonly scoreMean: number
  readonly scoreStd: number
  readonly gradNorm: number
  readonly tokens: number
}

/**
 * One data-parallel optimiser step of the reward model on `picked` pairs, training the parameters
 * named in `trainable` (the rest stay frozen); metrics from the scores the threads computed.
 */
export const rmStep = (
  pool: DataParallel.Pool,
  model: Gpt.Model,
  trainable: ReadonlyArray<string>,
  opt: AdamW.Optimizer,
  picked: ReadonlyArray<Scoring.EncodedPair>,
  o: { readonly scorePrior: number; readonly gradClip: number },
  lr: number
): RmStepResult => {
  const b = picked.length
  const ranges = DataParallel.shardRanges(b, pool.size)
  const shards: RmShard[] = ranges.map(([x, y]) => {
    const part = picked.slice(x, y)
    return { prompts: part.map((p) => p.prompt), chosen: part.map((p) => p.chosen), rejected: part.map((p) => p.rejected), share: (y - x) / b, scorePrior: o.scorePrior }
  })
  const r = pool.step(REPLICA, model, opt, "rm-pairs", shards, { lr, maxGradNorm: o.gradClip, params: trainable })
  // Each shard reported its chosen scores, then its rejected ones.
  const k = shards.map((s) => s.prompts.length)
  const chosen = concat(r.reports.map((rep, i) => rep[0]!.subarray(0, k[i])))
  const rejected = concat(r.reports.map((rep, i) => rep[0]!.subarray(k[i])))
  const [loss, accuracy, margin, scoreMean, scoreStd] = tf.tidy(() => {
    const m = rewardModelLoss({ chosen: tf.tensor1d(chosen), rejected: tf.tensor1d(rejected), scorePrior: o.scorePrior })
    return [m.loss, m.accuracy, m.margin, m.scoreMean, m.scoreStd].map((t) => t.dataSync()[0]!)
  })
  const tokens = picked.reduce((n, p) => n + 2 * p.prompt.length + p.chosen.length + p.rejected.length, 0)
  return { loss: loss!, accuracy: accuracy!, margin: margin!, scoreMean: scoreMean!, scoreStd: scoreStd!, gradNorm: r.gradNorm, tokens }
}

const concat = (parts: ReadonlyArray<Float32Array>): Float32Array => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) out.set(p, at), (at += p.length)
  return out
}
