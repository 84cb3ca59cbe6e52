/**
 * Plain-number batches for the PPO math that runs outside the autograd graph
 * (advantages, whitening, KL-shaped rewards): a padded batch [B, T] is an array
 * of B rows of length T. Rows may be `number[]` or `Float32Array`.
 */
export type Rows = ReadonlyArray<ArrayLike<number>>

/** Throws a RangeError unless every batch has the same [B, T] shape as `like`; returns [B, T]. */
export const assertSameShape = (where: string, like: Rows, others: Record<string, Rows>): readonly [number, number] => {
  const batch = like.length
  const width = batch === 0 ? 0 : like[0]!.length
  const check = (name: string, rows: Rows) => {
    if (rows.length !== batch) {
      throw new RangeError(`${where}: ${name} has ${rows.length} rows, expected ${batch}; pass batches of the same [B, T] shape`)
    }
    rows.forEach((row, b) => {
      if (row.length !== width) {
        throw new RangeError(`${where}: ${name}[${b}] has length ${row.length}, expected ${width}; pad every row to the same T`)
      }
    })
  }
  check("first batch", like)
  for (const [name, rows] of Object.entries(others)) check(name, rows)
  return [batch, width]
}

/** Index of the last position with mask > 0 in a row, or -1 if the row is all padding. */
export const lastRealIndex = (maskRow: ArrayLike<number>): number => {
  for (let t = maskRow.length - 1; t >= 0; t--) if (maskRow[t]! > 0) return t
  return -1
}

/** Flattens rows into one row-major Float32Array, e.g. for `tf.tensor2d(data, [B, T])`. */
export const flattenRows = (rows: Rows): { readonly data: Float32Array; readonly shape: readonly [number, number] } => {
  const batch = rows.length
  const width = batch === 0 ? 0 : rows[0]!.length
  const data = new Float32Array(batch * width)
  rows.forEach((row, b) => data.set(Array.from(row), b * width))
  return { data, shape: [batch, width] }
}
