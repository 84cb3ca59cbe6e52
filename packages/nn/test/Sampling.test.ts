import { describe, expect, it } from "vitest"
import * as Prng from "../src/Prng.ts"
import * as Sampling from "../src/Sampling.ts"

// The specification sampleToken must match draw for draw (it was the implementation before the
// packed-key sort): candidates by descending logit (ties: lower id first), weights summed in that order.
const reference = (logits: Float32Array, rng: Prng.Prng, o: Sampling.SamplingOptions = {}): number => {
  let best = 0
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i
  if (o.greedy || o.temperature === 0) return best
  const t = o.temperature ?? 1
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b)
  if (o.topK !== undefined && o.topK > 0) order = order.slice(0, o.topK)
  const weights = order.map((i) => Math.exp((logits[i]! - logits[best]!) / t))
  if (o.topP !== undefined && o.topP < 1) {
    const total = weights.reduce((a, b) => a + b, 0)
    let cum = 0, keep = 0
    while (keep < weights.length && cum < o.topP * total) cum += weights[keep++]!
    order = order.slice(0, Math.max(1, keep)), weights.length = Math.max(1, keep)
  }
  let u = rng.next() * weights.reduce((a, b) => a + b, 0)
  for (let i = 0; i < order.length; i++) if ((u -= weights[i]!) < 0) return order[i]!
  return order[order.length - 1]!
}

// Rows with the awkward cases: exact ties, -0 next to +0, infinities, huge and tiny magnitudes.
const rows = (): Float32Array[] => {
  const rng = Prng.make(11)
  const out: Float32Array[] = []
  for (const [v, scale] of [[512, 1], [512, 8], [37, 0.01], [1000, 3], [2, 1], [1, 1]] as const) {
    for (let r = 0; r < 6; r++) {
      const row = Float32Array.from({ length: v }, () => rng.normal() * scale)
      // Quantise some rows so many logits tie exactly.
      if (r % 2 === 1) row.forEach((x, i) => (row[i] = Math.round(x * 2) / 2))
      if (r === 3 && v > 4) row[1] = -0, row[2] = 0, row[3] = Infinity, row[4] = -Infinity
      if (r === 4 && v > 2) row[0] = 1e30, row[v - 1] = -1e30
      out.push(row)
    }
  }
  return out
}

const settings: Sampling.SamplingOptions[] = [
  {}, { temperature: 0.7 }, { temperature: 2.5 }, { topK: 1 }, { topK: 5 }, { topK: 50, temperature: 0.9 },
  { topP: 0.9 }, { topP: 0.3, temperature: 1.3 }, { topK: 20, topP: 0.8 }, { greedy: true }, { temperature: 0 }
]

describe("sampleToken", () => {
  it("draws exactly the tokens of the comparator-sort specification, for every setting", () => {
    let draws = 0, distinct = 0
    for (const row of rows()) {
      for (const o of settings) {
        const a = Prng.make(5), b = Prng.make(5)
        const seen = new Set<number>()
        for (let k = 0; k < 20; k++) {
          const got = Sampling.sampleToken(row, a, o)
          expect(got).toBe(reference(row, b, o))
          seen.add(got)
          draws++
        }
        distinct += seen.size
      }
    }
    expect(draws).toBe(36 * settings.length * 20)
    expect(distinct).toBeGreaterThan(36 * settings.length * 2) // the draws really vary: not all argmax
  })

  it("ranks ids as the comparator sort does, and draws the same given that ranking", () => {
    for (const row of rows()) {
      const ranked = Sampling.rankDescending(row)
      expect(Array.from(ranked)).toEqual(Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b))
      const a = Prng.make(8), b = Prng.make(8)
      for (const o of settings) expect(Sampling.sampleToken(row, a, o, ranked)).toBe(Sampling.sampleToken(row, b, o))
    }
    expect(() => Sampling.sampleToken(Float32Array.of(1, 2, 3), Prng.make(1), {}, Int32Array.of(2, 1))).toThrow(/ranked has 2 ids for 3 logits/)
  })

  it("visits tied logits lowest id first, and treats -0 and +0 as equal", () => {
    // Four equal logits: u in [k/4, (k+1)/4) of the total picks the k-th lowest id.
    const row = Float32Array.of(-5, 2, -0, 2, 0, 2, 2)
    const fixed = (u: number): Prng.Prng => ({ next: () => u, int: () => 0, normal: () => 0 })
    expect([0.01, 0.3, 0.6, 0.9].map((u) => Sampling.sampleToken(row, fixed(u), { topK: 4 }))).toEqual([1, 3, 5, 6])
    expect([0.01, 0.99].map((u) => Sampling.sampleToken(Float32Array.of(0, -0, 0), fixed(u), {}))).toEqual([0, 2])
  })
})
