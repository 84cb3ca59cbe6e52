/**
 * The losses one optimiser step of DPO and PPO descends, shared by the in-process steps and the
 * data-parallel workers. Each term is a mean over the batch (pairs, or real response / PTX
 * tokens); a worker that holds one shard of the batch weights its shard's mean by the shard's
 * share of the batch (its pairs, or its tokens, over the batch's), so the shares add up to the
 * batch loss and the summed gradients to the batch gradient. In process every share is 1 (and no
 * multiplication is made). Reported metrics are weighted the same way, so they add up too.
 *
 * This module loads TensorFlow.js (data-parallel workers load it as part of their tasks).
 */
import * as Gpt from "@rlhf/nn/Gpt"
import * as LogProbs from "@rlhf/nn/LogProbs"
import * as Train from "@rlhf/nn/Train"
import * as tf from "@tensorflow/tfjs-core"
import { maskedMeanTensor, policyLoss, valueLoss } from "../ppo/Losses.ts"

type Report = (x: tf.Tensor) => void

const weighted = <T extends tf.Tensor>(x: T, share: number): T => (share === 1 ? x : (tf.mul(x, share) as T))

/**
 * DPO on k pairs laid out as `batch` rows [chosen..., rejected...]: reports the 2k summed sequence
 * log-probs, returns −log σ(β[(logπ(y_w) − logπ_ref(y_w)) − (logπ(y_l) − logπ_ref(y_l))]) averaged
 * over the pairs, times `share`.
 *
 * −log σ(m) is written as softplus(−m): tf.logSigmoid's custom gradient reads its input after an
 * enclosing tidy has freed it (so ppo/Dpo.dpoLoss cannot be differentiated here); the metrics come
 * from dpoLossReference on the reported log-probs.
 */
export const dpoStepLoss = (
  policy: Gpt.Model,
  batch: LogProbs.SequenceBatch,
  refChosen: tf.Tensor1D,
  refRejected: tf.Tensor1D,
  beta: number,
  share: number,
  report: Report
): tf.Scalar => {
  const k = refChosen.shape[0]
  const seq = tf.sum(LogProbs.tokenLogProbs(policy, batch).logProbs, 1) // [2k]: chosen then rejected
  report(seq)
  const margins = tf.mul(beta, tf.sub(tf.sub(tf.slice(seq, 0, k), refChosen), tf.sub(tf.slice(seq, k, k), refRejected)))
  return weighted(tf.mean(tf.softplus(tf.neg(margins))) as tf.Scalar, share)
}

/** The PPO policy terms' settings. */
export interface PolicyTerms {
  readonly clipEps: number
  readonly entropyCoef: number
  readonly ptxCoef: number
}

/**
 * PPO policy loss of a minibatch: clipped surrogate − entropyCoef·entropy (masked means over the
 * response tokens, weighted by `tokenShare`) + ptxCoef·PTX next-token loss (weighted by
 * `ptxShare`) when there is a PTX batch. Reports surrogate loss, clip fraction, approx KL,
 * entropy and PTX loss (0 without a batch), each weighted by its share.
 */
export const ppoPolicyLoss = (
  policy: Gpt.Model,
  batch: LogProbs.SequenceBatch,
  oldLogp: tf.Tensor2D,
  advantages: tf.Tensor2D,
  ptx: Train.LmBatch | undefined,
  o: PolicyTerms,
  shares: { readonly tokens: number; readonly ptx: number },
  report: Report
): tf.Scalar => {
  const out = LogProbs.tokenLogProbs(policy, batch)
  const pl = policyLoss({ logp: out.logProbs, oldLogp, advantages, mask: batch.responseMask, clipEps: o.clipEps })
  const ent = weighted(maskedMeanTensor(out.entropy, batch.responseMask), shares.tokens)
  const surrogate = weighted(pl.loss, shares.tokens)
  ;[surrogate, weighted(pl.clipFraction, shares.tokens), weighted(pl.approxKl, shares.tokens), ent].forEach(report)
  let loss = tf.sub(surrogate, tf.mul(o.entropyCoef, ent))
  if (ptx !== undefined) {
    const lm = weighted(Train.lmBatchLoss(policy, ptx), shares.ptx)
    report(lm)
    loss = tf.add(loss, tf.mul(o.ptxCoef, lm))
  } else report(tf.scalar(0))
  return loss as tf.Scalar
}

/**
 * PPO clipped value loss of a minibatch under the critic, weighted by `share`; reports the loss
 * and the value clip fraction, weighted the same way.
 */
export const ppoCriticLoss = (
  critic: Gpt.Model,
  batch: LogProbs.SequenceBatch,
  oldValues: tf.Tensor2D,
  returns: tf.Tensor2D,
  valueClip: number,
  share: number,
  report: Report
): tf.Scalar => {
  const values = Gpt.scalarHead(critic, LogProbs.responseHidden(critic, batch)) // [k, r]
  const out = valueLoss({ values, oldValues, returns, mask: batch.responseMask, clipRange: valueClip })
  const loss = weighted(out.loss, share)
  ;[loss, weighted(out.clipFraction, share)].forEach(report)
  return loss
}

/** Rows of `rows` picked by `idx`, cut to width r, as a [k, r] tensor. */
export const gatherRows = (rows: ReadonlyArray<Float32Array>, idx: ReadonlyArray<number>, r: number): tf.Tensor2D => {
  const data = new Float32Array(idx.length * r)
  idx.forEach((i, j) => data.set(rows[i]!.subarray(0, r), j * r))
  return tf.tensor2d(data, [idx.length, r])
}
