import * as tf from "@tensorflow/tfjs-core"
// The Node bundle of tfjs-core registers no gradient functions; the union package
// registers them all (into tfjs's global registry), so these losses can be differentiated.
import "@tensorflow/tfjs"
import { assertSameShape, type Rows } from "./Rows.ts"

/**
 * Mean of `x` over entries where mask > 0 (token-level mean over the whole batch,
 * as in TRL). Padded entries are selected away with `where` rather than multiplied
 * by 0, so a non-finite value at padding cannot leak NaN into the loss or gradient.
 */
export const maskedMeanTensor = (x: tf.Tensor, mask: tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    const real = tf.greater(mask, 0)
    const total = tf.sum(tf.where(real, x, tf.zerosLike(x)))
    const count = tf.maximum(tf.sum(tf.cast(real, "float32")), 1)
    return tf.div(total, count) as tf.Scalar
  })

/** Inputs of the clipped surrogate policy loss; all tensors share one shape, e.g. [B, T]. */
export interface PolicyLossInput<T> {
  /** Log-probs of the sampled tokens under the policy being optimised (carries gradient). */
  readonly logp: T
  /** Log-probs under the policy that generated the rollout (constants). */
  readonly oldLogp: T
  readonly advantages: T
  /** 1 at real response tokens, 0 at padding. */
  readonly mask: T
  /** Clip range ε: the ratio is clipped to [1 − ε, 1 + ε]. */
  readonly clipEps: number
}

/** Clipped surrogate loss and its diagnostics (scalars). */
export interface PolicyLossOutput<S> {
  readonly loss: S
  /** Share of real tokens where the clipped branch was taken. */
  readonly clipFraction: S
  /** ½·masked mean of (logp − oldLogp)², TRL's approx-KL diagnostic. */
  readonly approxKl: S
}

/**
 * PPO clipped surrogate loss (Schulman et al. 2017) with tfjs-core ops, so gradients
 * flow to `logp`: ratio r = exp(logp − oldLogp),
 * loss = masked mean of max(−A·r, −A·clip(r, 1−ε, 1+ε)) = −min(r·A, clip(r)·A).
 * Metrics are returned as separate scalars; inside `variableGrads` wrap them in `tf.keep`.
 */
export const policyLoss = (input: PolicyLossInput<tf.Tensor>): PolicyLossOutput<tf.Scalar> =>
  tf.tidy(() => {
    const { logp, oldLogp, advantages, mask, clipEps } = input
    const real = tf.greater(mask, 0)
    const logRatio = tf.where(real, tf.sub(logp, oldLogp), tf.zerosLike(logp))
    const ratio = tf.exp(logRatio)
    const unclipped = tf.neg(tf.mul(advantages, ratio))
    const clipped = tf.neg(tf.mul(advantages, tf.clipByValue(ratio, 1 - clipEps, 1 + clipEps)))
    return {
      loss: maskedMeanTensor(tf.maximum(unclipped, clipped), mask),
      clipFraction: maskedMeanTensor(tf.cast(tf.greater(clipped, unclipped), "float32"), mask),
      approxKl: tf.mul(0.5, maskedMeanTensor(tf.square(logRatio), mask)) as tf.Scalar
    }
  })

/** Inputs of the clipped value loss; all tensors share one shape, e.g. [B, T]. */
export interface ValueLossInput<T> {
  /** Current value predictions (carry gradient). */
  readonly values: T
  /** Value predictions recorded at rollout time (constants). */
  readonly oldValues: T
  /** Value targets (GAE returns). */
  readonly returns: T
  readonly mask: T
  /** Values may move at most this far from `oldValues` in the clipped branch. */
  readonly clipRange: number
}

/** Clipped value loss and the share of tokens where clipping bit. */
export interface ValueLossOutput<S> {
  readonly loss: S
  readonly clipFraction: S
}

/**
 * PPO clipped value loss (as in TRL/OpenRLHF): with v_c = oldV + clip(v − oldV, ±c),
 * loss = ½·masked mean of max((v − R)², (v_c − R)²).
 */
export const valueLoss = (input: ValueLossInput<tf.Tensor>): ValueLossOutput<tf.Scalar> =>
  tf.tidy(() => {
    const { values, oldValues, returns, mask, clipRange } = input
    const clippedValues = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clipRange, clipRange))
    const unclippedError = tf.square(tf.sub(values, returns))
    const clippedError = tf.square(tf.sub(clippedValues, returns))
    return {
      loss: tf.mul(0.5, maskedMeanTensor(tf.maximum(unclippedError, clippedError), mask)) as tf.Scalar,
      clipFraction: maskedMeanTensor(tf.cast(tf.greater(clippedError, unclippedError), "float32"), mask)
    }
  })

/** Loops over real tokens of a [B, T] batch; the reference implementations share it. */
const maskedMeanOf = (mask: Rows, f: (b: number, t: number) => number): number => {
  let sum = 0, count = 0
  mask.forEach((row, b) => {
    for (let t = 0; t < row.length; t++) if (row[t]! > 0) { sum += f(b, t); count++ }
  })
  return count === 0 ? 0 : sum / count
}

/** Plain-number reference for {@link policyLoss} (float64), used to check the tensor version. */
export const policyLossReference = (input: PolicyLossInput<Rows>): PolicyLossOutput<number> => {
  const { logp, oldLogp, advantages, mask, clipEps } = input
  assertSameShape("policyLossReference", logp, { oldLogp, advantages, mask })
  const branches = (b: number, t: number) => {
    const ratio = Math.exp(logp[b]![t]! - oldLogp[b]![t]!)
    const a = advantages[b]![t]!
    const clipped = Math.min(1 + clipEps, Math.max(1 - clipEps, ratio))
    return { unclipped: -a * ratio, clipped: -a * clipped }
  }
  return {
    loss: maskedMeanOf(mask, (b, t) => { const x = branches(b, t); return Math.max(x.unclipped, x.clipped) }),
    clipFraction: maskedMeanOf(mask, (b, t) => { const x = branches(b, t); return x.clipped > x.unclipped ? 1 : 0 }),
    approxKl: 0.5 * maskedMeanOf(mask, (b, t) => (logp[b]![t]! - oldLogp[b]![t]!) ** 2)
  }
}

/** Plain-number reference for {@link valueLoss} (float64). */
export const valueLossReference = (input: ValueLossInput<Rows>): ValueLossOutput<number> => {
  const { values, oldValues, returns, mask, clipRange } = input
  assertSameShape("valueLossReference", values, { oldValues, returns, mask })
  const errors = (b: number, t: number) => {
    const v = values[b]![t]!, old = oldValues[b]![t]!, r = returns[b]![t]!
    const clippedValue = old + Math.min(clipRange, Math.max(-clipRange, v - old))
    return { unclipped: (v - r) ** 2, clipped: (clippedValue - r) ** 2 }
  }
  return {
    loss: 0.5 * maskedMeanOf(mask, (b, t) => { const e = errors(b, t); return Math.max(e.unclipped, e.clipped) }),
    clipFraction: maskedMeanOf(mask, (b, t) => { const e = errors(b, t); return e.clipped > e.unclipped ? 1 : 0 })
  }
}
