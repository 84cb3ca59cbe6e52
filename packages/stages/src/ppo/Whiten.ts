import { assertSameShape, type Rows } from "./Rows.ts"

/** Mean over entries with mask > 0 (0 if there are none). */
export const maskedMean = (values: Rows, mask: Rows): number => {
  assertSameShape("maskedMean", values, { mask })
  let sum = 0, count = 0
  values.forEach((row, b) => {
    const m = mask[b]!
    for (let t = 0; t < row.length; t++) if (m[t]! > 0) { sum += row[t]!; count++ }
  })
  return count === 0 ? 0 : sum / count
}

/**
 * Variance over entries with mask > 0. With `unbiased` (the default, as in TRL's
 * `masked_var`) applies Bessel's correction n/(n−1); fewer than two entries give 0.
 */
export const maskedVariance = (values: Rows, mask: Rows, unbiased = true): number => {
  const mean = maskedMean(values, mask)
  let sumSq = 0, count = 0
  values.forEach((row, b) => {
    const m = mask[b]!
    for (let t = 0; t < row.length; t++) if (m[t]! > 0) { sumSq += (row[t]! - mean) ** 2; count++ }
  })
  if (count < 2) return 0
  return unbiased ? sumSq / (count - 1) : sumSq / count
}

/** Options for {@link whiten}. */
export interface WhitenOptions {
  /** Keep the mean at 0 (true, default); false adds the mean back, as TRL does for rewards. */
  readonly shiftMean?: boolean
  /** Added to the variance before the square root. Default 1e-8. */
  readonly eps?: number
}

/**
 * Masked whitening (TRL/OpenRLHF `masked_whiten`): (x − mean)/sqrt(var + eps) with
 * mean and (unbiased) variance over masked entries only, so padding does not skew
 * the statistics. Padded entries come back as 0.
 */
export const whiten = (values: Rows, mask: Rows, options: WhitenOptions = {}): Float32Array[] => {
  const mean = maskedMean(values, mask)
  const scale = 1 / Math.sqrt(maskedVariance(values, mask) + (options.eps ?? 1e-8))
  const shiftBack = options.shiftMean === false ? mean : 0
  return values.map((row, b) => {
    const m = mask[b]!
    const out = new Float32Array(row.length)
    for (let t = 0; t < row.length; t++) if (m[t]! > 0) out[t] = (row[t]! - mean) * scale + shiftBack
    return out
  })
}
