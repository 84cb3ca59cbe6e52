import { assertSameShape, type Rows } from "./Rows.ts"

/** Discount settings for generalised advantage estimation. */
export interface GaeOptions {
  /** Discount γ per token (RLHF usually uses 1). */
  readonly gamma: number
  /** GAE mixing λ: 0 = one-step TD, 1 = Monte-Carlo return minus value. */
  readonly lambda: number
}

/** Per-token advantages and value targets, both [B, T]; zero at padded positions. */
export interface GaeResult {
  readonly advantages: Float32Array[]
  readonly returns: Float32Array[]
}

/**
 * Generalised advantage estimation (Schulman et al. 2016) over a padded batch [B, T].
 *
 * Each row's episode is its masked (mask > 0) tokens in order; the state after the
 * last real token is terminal (value 0). Padded positions are skipped — the
 * recursion jumps over them — so right- and left-padding give the same result:
 *   δ_t = r_t + γ·V_{t'} − V_t,   A_t = δ_t + γλ·A_{t'},   R_t = A_t + V_t
 * where t' is the next real position after t. Accumulates in float64.
 */
export const gae = (rewards: Rows, values: Rows, mask: Rows, options: GaeOptions): GaeResult => {
  const [batch, width] = assertSameShape("gae", rewards, { values, mask })
  const { gamma, lambda } = options
  const advantages: Float32Array[] = []
  const returns: Float32Array[] = []
  for (let b = 0; b < batch; b++) {
    const r = rewards[b]!, v = values[b]!, m = mask[b]!
    const adv = new Float32Array(width)
    const ret = new Float32Array(width)
    let nextValue = 0 // V of the state after the current token; 0 past the end
    let nextAdvantage = 0
    for (let t = width - 1; t >= 0; t--) {
      if (!(m[t]! > 0)) continue
      const delta = r[t]! + gamma * nextValue - v[t]!
      nextAdvantage = delta + gamma * lambda * nextAdvantage
      nextValue = v[t]!
      adv[t] = nextAdvantage
      ret[t] = nextAdvantage + v[t]!
    }
    advantages.push(adv)
    returns.push(ret)
  }
  return { advantages, returns }
}
