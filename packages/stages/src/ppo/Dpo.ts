import * as tf from "@tensorflow/tfjs-core"
// Registers the gradient functions (the tfjs-core Node bundle has none).
import "@tensorflow/tfjs"

/** Summed sequence log-probs [B] of chosen (y_w) and rejected (y_l) responses. */
export interface DpoInput<T> {
  readonly policyChosen: T
  readonly policyRejected: T
  readonly refChosen: T
  readonly refRejected: T
  /** β: the strength of the implicit KL constraint. */
  readonly beta: number
}

/** DPO loss and implicit-reward metrics (scalars). */
export interface DpoOutput<S> {
  readonly loss: S
  /** Share of pairs whose implicit reward β·(logπ − logπ_ref) ranks chosen above rejected. */
  readonly accuracy: S
  /** Mean implicit-reward margin (chosen − rejected). */
  readonly margin: S
  readonly chosenReward: S
  readonly rejectedReward: S
}

/**
 * Direct Preference Optimization loss (Rafailov et al. 2023):
 * −log σ(β[(logπ(y_w) − logπ_ref(y_w)) − (logπ(y_l) − logπ_ref(y_l))]), mean over pairs.
 */
export const dpoLoss = (input: DpoInput<tf.Tensor>): DpoOutput<tf.Scalar> =>
  tf.tidy(() => {
    const chosen = tf.mul(input.beta, tf.sub(input.policyChosen, input.refChosen)) // [B]
    const rejected = tf.mul(input.beta, tf.sub(input.policyRejected, input.refRejected)) // [B]
    const margins = tf.sub(chosen, rejected)
    return {
      loss: tf.neg(tf.mean(tf.logSigmoid(margins))) as tf.Scalar,
      accuracy: tf.mean(tf.cast(tf.greater(margins, 0), "float32")) as tf.Scalar,
      margin: tf.mean(margins) as tf.Scalar,
      chosenReward: tf.mean(chosen) as tf.Scalar,
      rejectedReward: tf.mean(rejected) as tf.Scalar
    }
  })

/** Numerically stable log σ(x) = −log(1 + e^{−x}). */
export const logSigmoid = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)))

/** Plain-number reference for {@link dpoLoss} (float64). */
export const dpoLossReference = (input: DpoInput<ArrayLike<number>>): DpoOutput<number> => {
  const n = input.policyChosen.length
  let loss = 0, correct = 0, margin = 0, chosenSum = 0, rejectedSum = 0
  for (let i = 0; i < n; i++) {
    const chosen = input.beta * (input.policyChosen[i]! - input.refChosen[i]!)
    const rejected = input.beta * (input.policyRejected[i]! - input.refRejected[i]!)
    loss -= logSigmoid(chosen - rejected)
    correct += chosen > rejected ? 1 : 0
    margin += chosen - rejected
    chosenSum += chosen
    rejectedSum += rejected
  }
  return { loss: loss / n, accuracy: correct / n, margin: margin / n, chosenReward: chosenSum / n, rejectedReward: rejectedSum / n }
}
