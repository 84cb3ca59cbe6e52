import type * as TfCore from "@tensorflow/tfjs-core"

/**
 * The loss of `rewardModelLoss`, −log σ(r_w − r_l) + λ·(r_w² + r_l²) averaged over pairs, written
 * with softplus (−log σ(m) = softplus(−m)) for the gradient tape: tfjs's `logSigmoid` is a
 * custom-gradient op whose gradient reads its input after the forward pass freed it, which
 * fails on the wasm backend. The reported loss still comes from `rewardModelLoss`.
 *
 * TensorFlow.js comes in as `tf`, so importing this module loads nothing (rm-train imports it
 * with its stage; data-parallel workers with their tasks).
 */
export const bradleyTerryForGradient = (tf: typeof TfCore, chosen: TfCore.Tensor, rejected: TfCore.Tensor, scorePrior: number): TfCore.Scalar =>
  tf.tidy(() => {
    const prior = tf.mul(scorePrior, tf.add(tf.square(chosen), tf.square(rejected)))
    return tf.mean(tf.add(tf.softplus(tf.neg(tf.sub(chosen, rejected))), prior)) as TfCore.Scalar
  })
