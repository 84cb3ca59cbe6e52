import { describe, expect, it } from "vitest"
import { maskedMean, maskedVariance, whiten } from "../../src/ppo/Whiten.ts"

// Real entries 1..5 (mean 3, unbiased variance (4+1+0+1+4)/4 = 2.5); padding holds 100 and −50.
const values = [[1, 2, 3, 100], [4, 5, -50, 100]]
const mask = [[1, 1, 1, 0], [1, 1, 0, 0]]

describe("masked whitening", () => {
  it("computes mean and variance over real entries only", () => {
    expect(maskedMean(values, mask)).toBeCloseTo(3, 10)
    expect(maskedVariance(values, mask)).toBeCloseTo(2.5, 10)
    expect(maskedVariance(values, mask, false)).toBeCloseTo(2, 10)
  })

  it("whitens real entries, ignores padding and returns 0 there", () => {
    const out = whiten(values, mask)
    const s = Math.sqrt(2.5)
    const expected = [[-2 / s, -1 / s, 0, 0], [1 / s, 2 / s, 0, 0]]
    out.forEach((row, b) => row.forEach((x, t) => expect(x).toBeCloseTo(expected[b]![t]!, 5)))
    const real = [out[0]![0]!, out[0]![1]!, out[0]![2]!, out[1]![0]!, out[1]![1]!]
    expect(real.reduce((a, x) => a + x, 0)).toBeCloseTo(0, 5)
  })

  it("adds the mean back when shiftMean is false", () => {
    const out = whiten(values, mask, { shiftMean: false })
    expect(out[0]![0]).toBeCloseTo(3 - 2 / Math.sqrt(2.5), 5)
    expect(out[1]![1]).toBeCloseTo(3 + 2 / Math.sqrt(2.5), 5)
    expect(out[0]![3]).toBe(0)
  })

  it("does not change when padding values change", () => {
    const other = whiten([[1, 2, 3, -7], [4, 5, 1e6, 0]], mask)
    expect(Array.from(other[0]!)).toEqual(Array.from(whiten(values, mask)[0]!))
  })
})
