import { describe, expect, it } from "vitest"
import { klEstimate, klPenalizedRewards, klPerToken, type KlEstimator } from "../../src/ppo/KlEstimators.ts"

describe("KL estimators", () => {
  it("give the hand-computed values", () => {
    // logp = −1, logref = −1.5 → log r = logref − logp = −0.5
    expect(klEstimate(-1, -1.5, "k1")).toBeCloseTo(0.5, 10) // −log r
    expect(klEstimate(-1, -1.5, "k2")).toBeCloseTo(0.125, 10) // ½·0.25
    expect(klEstimate(-1, -1.5, "k3")).toBeCloseTo(Math.exp(-0.5) - 1 + 0.5, 10) // 0.1065307
    expect(klEstimate(-1, -1.5, "k3")).toBeCloseTo(0.1065307, 6)
    // logp = −2, logref = −1 → log r = 1: k1 = −1 (negative!), k2 = 0.5, k3 = e − 2 = 0.7182818
    expect(klEstimate(-2, -1, "k1")).toBeCloseTo(-1, 10)
    expect(klEstimate(-2, -1, "k2")).toBeCloseTo(0.5, 10)
    expect(klEstimate(-2, -1, "k3")).toBeCloseTo(0.7182818, 6)
    for (const e of ["k1", "k2", "k3"] as const) expect(klEstimate(-0.7, -0.7, e)).toBe(0)
  })

  it("k1 and k3 are unbiased: their expectation under π is KL(π‖π_ref)", () => {
    const p = [0.5, 0.3, 0.2], q = [0.2, 0.4, 0.4]
    const kl = p.reduce((a, pi, i) => a + pi * Math.log(pi / q[i]!), 0)
    const expectation = (e: KlEstimator) => p.reduce((a, pi, i) => a + pi * klEstimate(Math.log(pi), Math.log(q[i]!), e), 0)
    expect(expectation("k1")).toBeCloseTo(kl, 10)
    expect(expectation("k3")).toBeCloseTo(kl, 10)
    expect(Math.abs(expectation("k2") - kl)).toBeGreaterThan(1e-3) // biased
  })

  it("zero the padded positions", () => {
    const out = klPerToken([[-1, -2, 5]], [[-1.5, -1, -9]], [[1, 1, 0]], "k2")
    expect(Array.from(out[0]!)).toEqual([0.125, 0.5, 0])
  })
})

describe("klPenalizedRewards", () => {
  it("puts −β·KL on each token and the score on the last real token", () => {
    // β = 0.1, k1. Row 0: KL = [0.5, −1, 0.2] → rewards [−0.05, 0.1, −0.02 + 2] ; padded slot 0.
    // Row 1: one real token, KL = 0.3 → reward −0.03 − 1.
    const { rewards, kl, sequenceKl } = klPenalizedRewards(
      [2, -1],
      [[-1, -2, -0.3, -4], [-0.5, -3, -3, -3]],
      [[-1.5, -1, -0.5, -1], [-0.8, 0, 0, 0]],
      [[1, 1, 1, 0], [1, 0, 0, 0]],
      0.1,
      "k1"
    )
    const expected = [[-0.05, 0.1, 1.98, 0], [-1.03, 0, 0, 0]]
    rewards.forEach((row, b) => row.forEach((x, t) => expect(x).toBeCloseTo(expected[b]![t]!, 6)))
    expect(kl[0]![1]).toBeCloseTo(-1, 6)
    expect(sequenceKl[0]).toBeCloseTo(-0.3, 6)
    expect(sequenceKl[1]).toBeCloseTo(0.3, 6)
  })

  it("leaves all-padding rows at zero and checks the score count", () => {
    const { rewards } = klPenalizedRewards([5], [[-1, -1]], [[-2, -2]], [[0, 0]], 0.1, "k3")
    expect(Array.from(rewards[0]!)).toEqual([0, 0])
    expect(() => klPenalizedRewards([1, 2], [[-1]], [[-1]], [[1]], 0.1, "k1")).toThrow(/2 scores for 1 responses/)
  })
})
