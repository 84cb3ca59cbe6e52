import { assertSameShape, lastRealIndex, type Rows } from "./Rows.ts"

/**
 * Per-token estimators of KL(π‖π_ref) from samples y ~ π (Schulman, "Approximating
 * KL divergence", 2020), with log r = logref − logp:
 * - k1 = −log r = logp − logref: unbiased, high variance, can be negative;
 * - k2 = ½(log r)²: biased, low variance, always ≥ 0;
 * - k3 = (r − 1) − log r: unbiased, low variance, always ≥ 0.
 */
export type KlEstimator = "k1" | "k2" | "k3"

/** One token's KL estimate from its policy and reference log-probabilities. */
export const klEstimate = (logp: number, logref: number, estimator: KlEstimator): number => {
  const logRatio = logref - logp
  switch (estimator) {
    case "k1": return logp - logref
    case "k2": return 0.5 * logRatio * logRatio
    case "k3": return Math.expm1(logRatio) - logRatio
  }
}

/** Per-token KL estimates [B, T]; 0 at padded positions. */
export const klPerToken = (logp: Rows, logref: Rows, mask: Rows, estimator: KlEstimator): Float32Array[] => {
  assertSameShape("klPerToken", logp, { logref, mask })
  return logp.map((row, b) => {
    const ref = logref[b]!, m = mask[b]!
    const out = new Float32Array(row.length)
    for (let t = 0; t < row.length; t++) if (m[t]! > 0) out[t] = klEstimate(row[t]!, ref[t]!, estimator)
    return out
  })
}

/** Token rewards for PPO and the KL that shaped them. */
export interface PenalizedRewards {
  /** [B, T]: −β·KL_t at each real token, plus the sequence score at the last real token. */
  readonly rewards: Float32Array[]
  /** [B, T]: the per-token KL estimates (0 at padding). */
  readonly kl: Float32Array[]
  /** [B]: the summed KL of each response, for logging and the adaptive controller. */
  readonly sequenceKl: Float32Array
}

/**
 * KL-penalised per-token rewards (InstructGPT/TRL convention): every real token gets
 * −β·KL_t, and the last real token of each response also gets that response's
 * scalar score (the reward model's output, minus the reference-response baseline
 * when used). A row with no real tokens gets all-zero rewards.
 */
export const klPenalizedRewards = (
  scores: ArrayLike<number>,
  logp: Rows,
  logref: Rows,
  mask: Rows,
  beta: number,
  estimator: KlEstimator
): PenalizedRewards => {
  if (scores.length !== logp.length) {
    throw new RangeError(`klPenalizedRewards: ${scores.length} scores for ${logp.length} responses; pass one score per row`)
  }
  const kl = klPerToken(logp, logref, mask, estimator)
  const sequenceKl = new Float32Array(kl.length)
  const rewards = kl.map((row, b) => {
    const out = new Float32Array(row.length)
    let total = 0
    const m = mask[b]!
    for (let t = 0; t < row.length; t++) {
      if (!(m[t]! > 0)) continue
      out[t] = -beta * row[t]!
      total += row[t]!
    }
    sequenceKl[b] = total
    const last = lastRealIndex(mask[b]!)
    if (last >= 0) out[last] = out[last]! + scores[b]!
    return out
  })
  return { rewards, kl, sequenceKl }
}
