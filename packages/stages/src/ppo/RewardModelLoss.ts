import * as tf from "@tensorflow/tfjs-core"
// Registers the gradient functions (the tfjs-core Node bundle has none).
import "@tensorflow/tfjs"
import { logSigmoid } from "./Dpo.ts"

/** Reward-model scores [B] of the chosen and rejected response of each pair. */
export interface RewardModelLossInput<T> {
  readonly chosen: T
  readonly rejected: T
  /**
   * λ of the score prior λ·(r_w² + r_l²) that keeps scores near 0 so their scale
   * stays stable for PPO (ChatGLM-RLHF); 0 gives the plain Bradley-Terry loss.
   */
  readonly scorePrior: number
}

/** Reward-model loss and metrics (scalars). */
export interface RewardModelLossOutput<S> {
  readonly loss: S
  /** Share of pairs scored chosen > rejected. */
  readonly accuracy: S
  /** Mean of r_w − r_l. */
  readonly margin: S
  /** Mean and (population) standard deviation of all 2B scores. */
  readonly scoreMean: S
  readonly scoreStd: S
}

/**
 * Bradley-Terry pairwise loss with the score prior, mean over pairs:
 * −log σ(r_w − r_l) + λ·(r_w² + r_l²).
 */
export const rewardModelLoss = (input: RewardModelLossInput<tf.Tensor>): RewardModelLossOutput<tf.Scalar> =>
  tf.tidy(() => {
    const { chosen, rejected, scorePrior } = input
    const margins = tf.sub(chosen, rejected) // [B]
    const prior = tf.mul(scorePrior, tf.add(tf.square(chosen), tf.square(rejected)))
    const { mean, variance } = tf.moments(tf.concat([chosen, rejected])) // over [2B]
    return {
      loss: tf.mean(tf.sub(prior, tf.logSigmoid(margins))) as tf.Scalar,
      accuracy: tf.mean(tf.cast(tf.greater(margins, 0), "float32")) as tf.Scalar,
      margin: tf.mean(margins) as tf.Scalar,
      scoreMean: mean as tf.Scalar,
      scoreStd: tf.sqrt(variance) as tf.Scalar
    }
  })

/** Plain-number reference for {@link rewardModelLoss} (float64). */
export const rewardModelLossReference = (input: RewardModelLossInput<ArrayLike<number>>): RewardModelLossOutput<number> => {
  const w = Array.from(input.chosen), l = Array.from(input.rejected)
  const n = w.length
  const all = [...w, ...l]
  const mean = all.reduce((a, x) => a + x, 0) / all.length
  const variance = all.reduce((a, x) => a + (x - mean) ** 2, 0) / all.length
  let loss = 0, correct = 0, margin = 0
  for (let i = 0; i < n; i++) {
    loss += input.scorePrior * (w[i]! ** 2 + l[i]! ** 2) - logSigmoid(w[i]! - l[i]!)
    correct += w[i]! > l[i]! ? 1 : 0
    margin += w[i]! - l[i]!
  }
  return { loss: loss / n, accuracy: correct / n, margin: margin / n, scoreMean: mean, scoreStd: Math.sqrt(variance) }
}
