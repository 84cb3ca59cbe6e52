import { describe, expect, it } from "vitest"
import { jaccard, LshIndex, minHashSignature, optimalBands, shingleHashes } from "../../src/preferences/index.ts"

// A deterministic pseudo-random text over a small vocabulary, so overlaps can be dialled in.
const words = (n: number, salt: number): string[] =>
  Array.from({ length: n }, (_, i) => `w${(Math.imul(i + 1, 2654435761) ^ salt) >>> 20}`)

describe("shingles", () => {
  it("are distinct, sorted, per-field, and cover short texts", () => {
    const h = shingleHashes("abcabcabc", 3, "char")
    expect(h.length).toBe(3) // abc, bca, cab
    expect([...h]).toEqual([...h].sort((a, b) => a - b))
    expect(shingleHashes("ab", 5, "char").length).toBe(1)
    expect(shingleHashes("", 5, "char").length).toBe(0)
    expect(jaccard(shingleHashes("same text", 3, "char", 1), shingleHashes("same text", 3, "char", 2))).toBe(0)
    expect(shingleHashes("the cat  sat on the mat", 2, "word").length).toBe(5)
  })

  it("give the exact Jaccard of sets", () => {
    const a = Uint32Array.from([1, 2, 3, 4])
    const b = Uint32Array.from([3, 4, 5])
    expect(jaccard(a, b)).toBeCloseTo(2 / 5)
    expect(jaccard(new Uint32Array(0), new Uint32Array(0))).toBe(1)
  })
})

describe("MinHash", () => {
  it("estimates Jaccard within sampling error, deterministically by seed", () => {
    const base = words(400, 7)
    for (const keep of [380, 300, 200, 100]) {
      const other = [...base.slice(0, keep), ...words(400 - keep, 99)]
      const a = shingleHashes(base.join(" "), 1, "word")
      const b = shingleHashes(other.join(" "), 1, "word")
      const sa = minHashSignature(a, 256, 3)
      const sb = minHashSignature(b, 256, 3)
      const estimate = sa.filter((v, i) => v === sb[i]).length / 256
      // Standard error of the estimate is sqrt(J(1-J)/256) ≤ 0.032; allow four of them.
      expect(Math.abs(estimate - jaccard(a, b))).toBeLessThan(0.13)
    }
    const s = shingleHashes("hello world, hello minhash", 4, "char")
    expect(minHashSignature(s, 64, 1)).toEqual(minHashSignature(s, 64, 1))
    expect(minHashSignature(s, 64, 1)).not.toEqual(minHashSignature(s, 64, 2))
  })
})

describe("LSH", () => {
  it("picks bands that find near-duplicates and skip dissimilar items", () => {
    for (const [threshold, numPerm] of [[0.9, 128], [0.8, 128], [0.5, 64]] as const) {
      const { bands, rows } = optimalBands(threshold, numPerm)
      expect(bands * rows).toBeLessThanOrEqual(numPerm)
      const p = (s: number) => 1 - (1 - s ** rows) ** bands
      expect(p(Math.min(1, threshold + 0.05))).toBeGreaterThan(0.95)
      expect(p(threshold - 0.3)).toBeLessThan(0.2)
    }
  })

  it("returns ids that share a band", () => {
    const index = new LshIndex({ bands: 4, rows: 2 })
    index.add(7, Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]))
    index.add(3, Uint32Array.from([9, 9, 9, 9, 9, 9, 7, 8]))
    expect(index.candidates(Uint32Array.from([0, 0, 0, 0, 0, 0, 7, 8]))).toEqual([3, 7])
    expect(index.candidates(Uint32Array.from([1, 2, 0, 0, 0, 0, 0, 0]))).toEqual([7])
    expect(index.candidates(Uint32Array.from([1, 0, 3, 0, 5, 0, 7, 0]))).toEqual([])
  })
})
