import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { lengthBalance, lengthStats, readPreferences } from "../../src/preferences/index.ts"
import type { PreferencePair } from "../../src/preferences/index.ts"
import { preferenceFile } from "./SharedData.ts"

const pair = (chosenLength: number, rejectedLength: number, tag = 0): PreferencePair => ({
  prompt: [{ role: "user", content: `q${tag}` }],
  chosen: "c".repeat(chosenLength), rejected: "r".repeat(rejectedLength),
  source: "test", annotator: null, category: null
})
const chars = (s: string) => s.length

describe("length bias statistics", () => {
  it("follow their definitions on a hand-computed table", () => {
    // d = +4, +2, −2, 0 → mean 1, mean square 6, r = 1/√6; longer wins 2 of 3 unequal.
    const stats = lengthStats([pair(5, 1), pair(3, 1), pair(1, 3), pair(2, 2)], chars)
    expect(stats.n).toBe(4)
    expect(stats.longerWinsShare).toBeCloseTo(2 / 3)
    expect(stats.lengthPreferenceCorrelation).toBeCloseTo(1 / Math.sqrt(6))
    expect(lengthStats([pair(4, 1), pair(6, 3)], chars).lengthPreferenceCorrelation).toBeCloseTo(1)
    expect(lengthStats([pair(2, 2)], chars)).toEqual({ n: 1, longerWinsShare: Number.NaN, lengthPreferenceCorrelation: 0 })
  })
})

describe("lengthBalance", () => {
  it("equalises longer-wins and longer-loses per bucket and keeps equal lengths", () => {
    const pairs = [
      pair(5, 1, 0), pair(6, 2, 1), pair(7, 3, 2), pair(1, 4, 3), // bucket [0, 10): 3 wins (d = 4), 1 loss
      pair(2, 2, 4), pair(9, 9, 5), // equal lengths: always kept
      pair(40, 10, 6), pair(10, 35, 7), pair(12, 40, 8) // bucket [10, ∞): 1 win, 2 losses
    ]
    const { kept, report } = lengthBalance(pairs, { length: chars, bucketEdges: [0, 10], seed: 1 })
    expect(report.buckets).toEqual([
      { lo: 0, hi: 10, longerWins: 3, longerLoses: 1, equalLength: 2, kept: 4 },
      { lo: 10, hi: Infinity, longerWins: 1, longerLoses: 2, equalLength: 0, kept: 2 }
    ])
    expect(kept).toHaveLength(6)
    expect(kept).toContain(pairs[3])
    expect(kept).toContain(pairs[4])
    expect(kept).toContain(pairs[5])
    expect(kept).toContain(pairs[6])
    expect(report.before).toEqual(lengthStats(pairs, chars))
    expect(report.after).toEqual(lengthStats(kept, chars))
    expect(report.after.longerWinsShare).toBe(0.5)
    // Kept pairs stay in input order.
    expect(kept.map((p) => pairs.indexOf(p))).toEqual([...kept.map((p) => pairs.indexOf(p))].sort((a, b) => a - b))
  })

  it("adds a bucket below a first edge above zero and rejects bad edges", () => {
    const { report } = lengthBalance([pair(3, 1), pair(30, 1)], { length: chars, bucketEdges: [5, 20] })
    expect(report.buckets.map((b) => [b.lo, b.hi, b.longerWins])).toEqual([[0, 5, 1], [5, 20, 0], [20, Infinity, 1]])
    expect(() => lengthBalance([], { length: chars, bucketEdges: [10, 5] })).toThrow(/ascending/)
    expect(() => lengthBalance([], { length: chars, bucketEdges: [] })).toThrow(/empty/)
  })

  const arbitraryPairs = fc.array(fc.tuple(fc.nat(60), fc.nat(60), fc.nat(5)).map(([c, r, t]) => pair(c, r, t)), { maxLength: 80 })
  const arbitraryEdges = fc.uniqueArray(fc.nat(50), { minLength: 1, maxLength: 5 }).map((e) => e.sort((a, b) => a - b))

  it("is balanced in every bucket of any input (property)", () => {
    fc.assert(fc.property(arbitraryPairs, arbitraryEdges, fc.nat(), (pairs, edges, seed) => {
      const { kept, report } = lengthBalance(pairs, { length: chars, bucketEdges: edges, seed })
      for (const bucket of report.buckets) {
        const inside = kept.filter((p) => {
          const d = Math.abs(p.chosen.length - p.rejected.length)
          return d >= bucket.lo && d < bucket.hi
        })
        const wins = inside.filter((p) => p.chosen.length > p.rejected.length).length
        const loses = inside.filter((p) => p.chosen.length < p.rejected.length).length
        expect(wins).toBe(loses)
        expect(wins).toBe(Math.min(bucket.longerWins, bucket.longerLoses))
        expect(inside.length - wins - loses).toBe(bucket.equalLength)
        expect(inside.length).toBe(bucket.kept)
      }
      expect(kept.every((p) => pairs.includes(p))).toBe(true)
      expect(kept.length).toBe(report.buckets.reduce((n, b) => n + b.kept, 0))
    }))
  })

  it("is deterministic by seed and independent of input order (property)", () => {
    fc.assert(fc.property(arbitraryPairs, arbitraryEdges, fc.nat(), (pairs, edges, seed) => {
      const options = { length: chars, bucketEdges: edges, seed }
      const once = lengthBalance(pairs, options).kept
      expect(lengthBalance(pairs, options).kept).toEqual(once)
      // Compared as content: identical pairs are interchangeable.
      const contents = (ps: PreferencePair[]) => ps.map((p) => JSON.stringify(p)).sort()
      expect(contents(lengthBalance([...pairs].reverse(), options).kept)).toEqual(contents(once))
    }))
    const many = Array.from({ length: 200 }, (_, i) => pair(20 + (i % 7), 10, i))
    many.push(...Array.from({ length: 20 }, (_, i) => pair(10, 20, 1000 + i)))
    const pick = (seed: number) => lengthBalance(many, { length: chars, bucketEdges: [0], seed }).kept
    expect(pick(1)).toHaveLength(40)
    expect(pick(1)).not.toEqual(pick(2))
  })

  it("removes the length bias of the real data in both directions", () => {
    const options = { length: (s: string) => Array.from(s).length, bucketEdges: [0, 20, 50, 100, 200, 400, 800, 1600] }
    // README: the longer response wins 44% of hh-rlhf harmless pairs and 71% of Open-Assistant pairs.
    for (const [file, share] of [["hh-rlhf-harmless.jsonl.gz", 0.44], ["oasst-en-trees.jsonl", 0.71]] as const) {
      const { report } = lengthBalance(readPreferences(preferenceFile(file)).pairs, options)
      expect(Math.abs(report.before.longerWinsShare - share)).toBeLessThan(0.01)
      expect(report.after.longerWinsShare).toBe(0.5)
      expect(Math.abs(report.after.lengthPreferenceCorrelation)).toBeLessThan(0.02)
      expect(Math.abs(report.before.lengthPreferenceCorrelation)).toBeGreaterThan(0.15)
    }
  })
})
