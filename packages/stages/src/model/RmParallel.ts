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

/** Pairs as a shard carries them (a prompt and its two responses). */
type Pair = Pick<Scoring.EncodedPair, "prompt" | "chosen" | "rejected">

/**
 * The loss of a share of a batch: the Bradley-Terry + score-prior loss of `pairs` (their mean)
 * × `share`, and their 2k scores (chosen, then rejected). Shares adding up to 1 give the batch
 * loss, so the summed gradients are the batch's: the data-parallel shards and rm-train's
 * micro-batches both take their gradient from this. Call it on a gradient tape (the scoring
 * batch is freed with the tape's scope).
 */
export const pairsLoss = (model: Gpt.Model, pairs: ReadonlyArray<Pair>, share: number, scorePrior: number): { loss: tf.Scalar; scores: tf.Tensor1D } => {
  const k = pairs.length
  const batch = Scoring.rewardBatch([...pairs.map((p) => ({ prompt: p.prompt, response: p.chosen })), ...pairs.map((p) => ({ prompt: p.prompt, response: p.rejected }))])
  const scores = Scoring.batchScores(model, batch)
  return { loss: tf.mul(bradleyTerryForGradient(tf, tf.slice(scores, 0, k), tf.slice(scores, k, k), scorePrior), share) as tf.Scalar, scores }
}

/** Tokens a step over `pairs` scores: each prompt twice, each response once. */
export const pairTokens = (pairs: ReadonlyArray<Pair>): number => pairs.reduce((n, p) => n + 2 * p.prompt.length + p.chosen.length + p.rejected.length, 0)

/** Worker-side: the share of the loss of a shard of pairs; reports the 2k scores (chosen, then rejected). */
export const tasks: DataParallel.WorkerTasks = {
  losses: {
    "rm-pairs": (ctx: DataParallel.LossContext, s: RmShard, report: (x: tf.Tensor) => void) => {
      const { loss, scores } = pairsLoss(ctx.model, s.prompts.map((prompt, i) => ({ prompt, chosen: s.chosen[i]!, rejected: s.rejected[i]! })), s.share, s.scorePrior)
      report(scores)
      return loss
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
  return { loss: loss!, accuracy: accuracy!, margin: margin!, scoreMean: scoreMean!, scoreStd: scoreStd!, gradNorm: r.gradNorm, tokens: pairTokens(picked) }
}

const concat = (parts: ReadonlyArray<Float32Array>): Float32Array => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) out.set(p, at), (at += p.length)
  return out
}
