import { xxh32 } from "@node-rs/xxhash"

/**
 * Banding for locality-sensitive hashing of MinHash signatures: two items become candidates
 * when all `rows` values of any one of `bands` bands agree, which happens with probability
 * 1 − (1 − s^rows)^bands at Jaccard s.
 */
export type LshBands = { bands: number; rows: number }

/**
 * The bands × rows ≤ numPerm that minimise the weighted area of false positives below the
 * threshold and false negatives above it (as datasketch does). Candidates are verified by exact
 * Jaccard later, so a false positive costs only time: misses weigh 9× more (0.9 against 0.1).
 */
export const optimalBands = (threshold: number, numPerm: number): LshBands => {
  const candidate = (s: number, b: number, r: number) => 1 - (1 - s ** r) ** b
  const integrate = (f: (s: number) => number, lo: number, hi: number) => {
    const steps = 64
    const h = (hi - lo) / steps
    let sum = 0
    for (let k = 0; k < steps; k++) sum += f(lo + (k + 0.5) * h) * h // midpoint rule
    return sum
  }
  let best: LshBands = { bands: 1, rows: numPerm }
  let bestError = Infinity
  for (let b = 1; b <= numPerm; b++) {
    for (let r = 1; r * b <= numPerm; r++) {
      const falsePositive = integrate((s) => candidate(s, b, r), 0, threshold)
      const falseNegative = integrate((s) => 1 - candidate(s, b, r), threshold, 1)
      const error = 0.1 * falsePositive + 0.9 * falseNegative
      if (error < bestError) (bestError = error, best = { bands: b, rows: r })
    }
  }
  return best
}

/** An LSH index from band buckets to the ids added under them, in insertion order. */
export class LshIndex {
  private readonly buckets = new Map<number, number[]>()
  constructor(readonly shape: LshBands) {}

  /** Ids sharing at least one band bucket with the signature, ascending. */
  candidates(signature: Uint32Array): number[] {
    const found = new Set<number>()
    for (const key of this.keys(signature)) for (const id of this.buckets.get(key) ?? []) found.add(id)
    return [...found].sort((a, b) => a - b)
  }

  add(id: number, signature: Uint32Array): void {
    for (const key of this.keys(signature)) {
      const bucket = this.buckets.get(key)
      if (bucket === undefined) this.buckets.set(key, [id])
      else bucket.push(id)
    }
  }

  /** One number per band: the band index in the high bits, a hash of its rows in the low 32. */
  private keys(signature: Uint32Array): number[] {
    const { bands, rows } = this.shape
    return Array.from({ length: bands }, (_, b) => {
      const band = new Uint8Array(signature.buffer, signature.byteOffset + b * rows * 4, rows * 4)
      return b * 2 ** 32 + xxh32(band, 0)
    })
  }
}
