import { Table } from "@rlhf/core"
import { beforeAll, describe, expect, it } from "vitest"
import { evalRow, evalRows, pearson, RmEval, wilsonInterval } from "../../src/model/RmEval.ts"
import { RmTrain } from "../../src/model/RmTrain.ts"
import type { PairScoreRow } from "../../src/schemas/RewardEval.ts"
import { runStage, stageError } from "../data/RunStage.ts"
import { initTable, keywordPairs, pairsTable, tokenizerTable } from "./RmFixtures.ts"

type Score = typeof PairScoreRow.Type
const pair = (source: string, chosenScore: number, rejectedScore: number, chosenLength: number, rejectedLength: number): Score =>
  ({ source, chosenScore, rejectedScore, chosenLength, rejectedLength })

describe("rm-eval metrics on a hand-made scores table", () => {
  // Source "a": right (2 > 1), tie (0.5 = 0.5, counts ½), wrong (−1 < 1), right (3 > 0).
  // Lengths: chosen longer, equal (½), chosen longer, chosen longer.
  // Source "b": wrong (1 < 2), right (0 > −1); the chosen response is the shorter in both.
  const scores = [
    pair("a", 2, 1, 10, 5), pair("a", 0.5, 0.5, 3, 3), pair("a", -1, 1, 8, 4), pair("a", 3, 0, 6, 2),
    pair("b", 1, 2, 3, 9), pair("b", 0, -1, 2, 7)
  ]

  it("gives one row per source, sorted, then overall", () => {
    expect(evalRows(scores).map((r) => [r.source, r.n])).toEqual([["a", 4], ["b", 2], ["overall", 6]])
    expect(evalRows([])).toEqual([])
  })

  it("computes accuracy, the Wilson interval, the length baseline and score statistics by hand", () => {
    const a = evalRow("a", scores.slice(0, 4))
    // accuracy (1 + ½ + 0 + 1) / 4 = 0.625
    expect(a.accuracy).toBe(0.625)
    // Wilson, z = 1.959964, z² = 3.841459, n = 4: denominator 1 + z²/n = 1.960365;
    // center (0.625 + z²/8) / 1.960365 = 1.105182 / 1.960365 = 0.563763;
    // half-width (z / 1.960365) · √(0.625 · 0.375 / 4 + z² / 64) = 0.999795 · √0.118617 = 0.344337
    expect(a.accuracyLo).toBeCloseTo(0.563763 - 0.344337, 5)
    expect(a.accuracyHi).toBeCloseTo(0.563763 + 0.344337, 5)
    // "prefer the longer": (1 + ½ + 1 + 1) / 4 = 0.875 > "prefer the shorter" 0.125
    expect(a.lengthBaselineAccuracy).toBe(0.875)
    expect(a.lengthBaselineRule).toBe("longer")
    // margins 1, 0, −2, 3 → mean 0.5
    expect(a.meanMargin).toBe(0.5)
    // scores 2, 1, 0.5, 0.5, −1, 1, 3, 0: sum 7, mean 0.875; squared deviations sum to 10.375,
    // population variance 10.375 / 8 = 1.296875
    expect(a.scoreMean).toBe(0.875)
    expect(a.scoreStd).toBeCloseTo(Math.sqrt(1.296875), 12)
    // lengths 10, 5, 3, 3, 8, 4, 6, 2 (mean 5.125): Σxy = 42, so sxy = 42 − 8·0.875·5.125 = 6.125;
    // sxx = 10.375; syy = 263 − 8·5.125² = 52.875; r = 6.125 / √(10.375 · 52.875) = 0.261509
    expect(a.scoreLengthCorrelation).toBeCloseTo(6.125 / Math.sqrt(10.375 * 52.875), 12)
    expect(a.scoreLengthCorrelation).toBeCloseTo(0.261509, 6)
  })

  it("picks 'prefer the shorter' when it is the better rule", () => {
    const b = evalRow("b", scores.slice(4))
    expect(b.accuracy).toBe(0.5)
    // The chosen response is the shorter in both pairs: "longer" 0/2, "shorter" 2/2.
    expect(b.lengthBaselineAccuracy).toBe(1)
    expect(b.lengthBaselineRule).toBe("shorter")
    expect(b.meanMargin).toBe(0) // (−1 + 1) / 2
  })

  it("pools every pair in the overall row", () => {
    const overall = evalRows(scores).at(-1)!
    expect(overall.n).toBe(6)
    expect(overall.accuracy).toBeCloseTo(3.5 / 6, 12) // 2.5 from "a" + 1 from "b"
    expect(overall.lengthBaselineAccuracy).toBeCloseTo(3.5 / 6, 12) // "longer": 3.5 from "a" + 0 from "b"
    expect(overall.lengthBaselineRule).toBe("longer")
    expect(overall.meanMargin).toBeCloseTo(2 / 6, 12) // margins 1, 0, −2, 3, −1, 1
    expect(overall.scoreMean).toBe(0.75) // (7 + 2) / 12
  })

  it("matches textbook Wilson intervals and handles degenerate input", () => {
    // 50 of 100: the classic [0.4038, 0.5962].
    const half = wilsonInterval(0.5, 100)
    expect(half.lo).toBeCloseTo(0.403832, 5)
    expect(half.hi).toBeCloseTo(0.596168, 5)
    // All right in 10: the interval ends at exactly 1.
    const all = wilsonInterval(1, 10)
    expect(all.hi).toBe(1)
    expect(all.lo).toBeCloseTo(10 / (10 + 1.959964 ** 2), 5) // p = 1: lo = n / (n + z²)
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNull()
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12)
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12)
  })
})

describe("rm-eval stage", () => {
  let weights: Awaited<ReturnType<typeof runStage<typeof RmTrain>>>["weights"]

  beforeAll(async () => {
    const train = [...keywordPairs(128, 11, "alpha"), ...keywordPairs(128, 12, "beta")]
    const out = await runStage(RmTrain, { pairs: pairsTable(train), tokenizer: tokenizerTable(), init: initTable() }, { steps: 40, batchSize: 16, lr: 3e-3, warmupSteps: 5 })
    weights = out.weights
  })

  it("scores unseen pairs per source, well above chance and the length baseline", async () => {
    const test = [...keywordPairs(60, 21, "alpha"), ...keywordPairs(40, 22, "beta")]
    const out = await runStage(RmEval, { pairs: pairsTable(test), tokenizer: tokenizerTable(), weights })
    const rows = Table.toRows(out.metrics)
    expect(rows.map((r) => [r.source, r.n])).toEqual([["alpha", 60], ["beta", 40], ["overall", 100]])
    for (const r of rows) {
      // "yes" and "no!" have the same length in bytes: length says nothing here.
      expect(r.lengthBaselineAccuracy).toBe(0.5)
      expect(r.accuracy).toBeGreaterThan(0.9)
      expect(r.accuracyLo).toBeGreaterThan(r.lengthBaselineAccuracy)
      expect(r.accuracyLo).toBeLessThan(r.accuracy)
      expect(r.accuracyHi).toBeGreaterThanOrEqual(r.accuracy)
      expect(r.meanMargin).toBeGreaterThan(0)
    }
    const scores = Table.toRows(out.scores)
    expect(scores).toHaveLength(100)
    // Input order, and lengths in tokens (byte-level tokenizer: one token per byte).
    expect(scores.map((s) => s.source)).toEqual(test.map((p) => p.source))
    expect(scores.map((s) => s.chosenLength)).toEqual(test.map((p) => Buffer.byteLength(p.chosen)))
    const overall = rows.at(-1)!
    const right = scores.filter((s) => s.chosenScore > s.rejectedScore).length
    expect(overall.accuracy).toBeCloseTo(right / 100, 12)
  })

  it("scores a pair the same whichever batch it lands in", async () => {
    const test = keywordPairs(24, 31, "alpha")
    const big = Table.toRows((await runStage(RmEval, { pairs: pairsTable(test), tokenizer: tokenizerTable(), weights }, { batchSize: 48 })).scores)
    const small = Table.toRows((await runStage(RmEval, { pairs: pairsTable(test), tokenizer: tokenizerTable(), weights }, { batchSize: 2 })).scores)
    big.forEach((s, i) => {
      expect(s.chosenScore).toBeCloseTo(small[i]!.chosenScore, 4)
      expect(s.rejectedScore).toBeCloseTo(small[i]!.rejectedScore, 4)
    })
  })

  it("refuses weights without a reward head", async () => {
    const error = await stageError(RmEval, { pairs: pairsTable(keywordPairs(4)), tokenizer: tokenizerTable(), weights: initTable() })
    expect(String((error as Error).message)).toMatch(/head "lm", not "reward".*rm-train/)
  })
})
