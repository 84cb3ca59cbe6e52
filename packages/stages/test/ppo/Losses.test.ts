import "@tensorflow/tfjs-backend-cpu"
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { policyLoss, policyLossReference, valueLoss, valueLossReference } from "../../src/ppo/Losses.ts"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const t2 = (rows: number[][]) => tf.tensor2d(rows)
const one = (x: number) => [[x]]

/** Runs the tensor policy loss on one token with ratio r and advantage a; returns loss, clip flag and d loss/d logp. */
const policyOnToken = (ratio: number, advantage: number, clipEps = 0.2) => {
  const oldLogp = -1.3
  const logp = tf.scalar(oldLogp + Math.log(ratio))
  const run = (lp: tf.Tensor) =>
    policyLoss({ logp: tf.reshape(lp, [1, 1]), oldLogp: t2(one(oldLogp)), advantages: t2(one(advantage)), mask: t2(one(1)), clipEps })
  const out = run(logp)
  const grad = tf.grad((lp: tf.Tensor) => run(lp).loss)(logp)
  return { loss: out.loss.dataSync()[0]!, clip: out.clipFraction.dataSync()[0]!, grad: grad.dataSync()[0]! }
}

describe("clipped policy loss", () => {
  it("matches the hand-computed cases inside/outside the clip range (ε = 0.2)", () => {
    // A > 0, r = 1.1 inside: loss = −1.1, gradient −A·r = −1.1, not clipped
    let x = policyOnToken(1.1, 1)
    expect(x.loss).toBeCloseTo(-1.1, 5); expect(x.clip).toBe(0); expect(x.grad).toBeCloseTo(-1.1, 5)
    // A > 0, r = 1.5 above 1+ε: loss = −min(1.5, 1.2) = −1.2, clipped, no gradient (update stops)
    x = policyOnToken(1.5, 1)
    expect(x.loss).toBeCloseTo(-1.2, 5); expect(x.clip).toBe(1); expect(x.grad).toBeCloseTo(0, 6)
    // A > 0, r = 0.5 below 1−ε: pessimistic min keeps the unclipped −0.5, gradient still flows (−0.5)
    x = policyOnToken(0.5, 1)
    expect(x.loss).toBeCloseTo(-0.5, 5); expect(x.clip).toBe(0); expect(x.grad).toBeCloseTo(-0.5, 5)
    // A < 0, r = 1.5: −min(−1.5, −1.2) = 1.5, unclipped, gradient −A·r = +1.5 (push the ratio down)
    x = policyOnToken(1.5, -1)
    expect(x.loss).toBeCloseTo(1.5, 5); expect(x.clip).toBe(0); expect(x.grad).toBeCloseTo(1.5, 5)
    // A < 0, r = 0.5: −min(−0.5, −0.8) = 0.8, clipped, no gradient
    x = policyOnToken(0.5, -1)
    expect(x.loss).toBeCloseTo(0.8, 5); expect(x.clip).toBe(1); expect(x.grad).toBeCloseTo(0, 6)
    // A = 2, r = 0.9 inside: −1.8
    expect(policyOnToken(0.9, 2).loss).toBeCloseTo(-1.8, 5)
  })

  it("takes a masked mean over a padded batch and ignores garbage at padding", () => {
    const input = {
      logp: [[-1, -0.5, 1e4], [-2, -1, 1e4]], // 1e4 at padding would overflow exp()
      oldLogp: [[-1.1, -1, -1], [-1.8, -1.4, -1]],
      advantages: [[0.5, -1, 3], [2, 1, 3]],
      mask: [[1, 1, 0], [1, 1, 0]],
      clipEps: 0.2
    }
    const reference = policyLossReference(input)
    const out = tf.tidy(() => {
      const r = policyLoss({ logp: t2(input.logp), oldLogp: t2(input.oldLogp), advantages: t2(input.advantages), mask: t2(input.mask), clipEps: 0.2 })
      return { loss: r.loss.dataSync()[0]!, clip: r.clipFraction.dataSync()[0]!, kl: r.approxKl.dataSync()[0]! }
    })
    expect(Number.isFinite(out.loss)).toBe(true)
    expect(out.loss).toBeCloseTo(reference.loss, 5)
    expect(out.clip).toBeCloseTo(reference.clipFraction, 6)
    expect(out.kl).toBeCloseTo(reference.approxKl, 6)
    // Hand check of the reference: ratios e^0.1, e^0.5, e^−0.2 (= 0.8187, inside), e^0.4 (= 1.4918, above 1.2)
    // with A = 0.5, −1, 2, 1 → token losses −0.5·e^0.1, +e^0.5 (A < 0, unclipped), −2·e^−0.2, −min(1.4918, 1.2) = −1.2
    const expected = (-0.5 * Math.exp(0.1) + Math.exp(0.5) - 2 * Math.exp(-0.2) - 1.2) / 4
    expect(reference.loss).toBeCloseTo(expected, 10)
    expect(reference.clipFraction).toBe(0.25) // only the last real token (r = e^0.4 > 1.2, A > 0) is clipped
    expect(reference.approxKl).toBeCloseTo(0.5 * (0.01 + 0.25 + 0.04 + 0.16) / 4, 10)
  })

  it("has zero gradient at padded positions and finite gradients everywhere", () => {
    const logp = t2([[-1, -0.5, 1e4]])
    const grad = tf.grad((lp: tf.Tensor) =>
      policyLoss({ logp: lp, oldLogp: t2([[-1.1, -1, -1]]), advantages: t2([[0.5, -1, 3]]), mask: t2([[1, 1, 0]]), clipEps: 0.2 }).loss
    )(logp)
    const g = Array.from(grad.dataSync())
    expect(g.every(Number.isFinite)).toBe(true)
    expect(g[2]).toBe(0)
    expect(g[0]).toBeCloseTo((-0.5 * Math.exp(0.1)) / 2, 5)
  })
})

describe("clipped value loss", () => {
  it("matches hand-computed cases (clip range 0.2)", () => {
    // v = 1.0, old 0.5, R 1.2: v_c = 0.7; (1 − 1.2)² = 0.04 vs (0.7 − 1.2)² = 0.25 → ½·0.25, clipped
    // v = 0.6, old 0.5, R 1.0: inside, both 0.16 → ½·0.16, not clipped
    // v = 1.0, old 0.5, R 0.0: v_c = 0.7; 1.0 vs 0.49 → ½·1.0, not clipped
    const cases = [
      { v: 1.0, old: 0.5, r: 1.2, loss: 0.125, clip: 1 },
      { v: 0.6, old: 0.5, r: 1.0, loss: 0.08, clip: 0 },
      { v: 1.0, old: 0.5, r: 0.0, loss: 0.5, clip: 0 }
    ]
    for (const c of cases) {
      const out = valueLoss({ values: t2(one(c.v)), oldValues: t2(one(c.old)), returns: t2(one(c.r)), mask: t2(one(1)), clipRange: 0.2 })
      expect(out.loss.dataSync()[0]).toBeCloseTo(c.loss, 6)
      expect(out.clipFraction.dataSync()[0]).toBe(c.clip)
      const ref = valueLossReference({ values: one(c.v), oldValues: one(c.old), returns: one(c.r), mask: one(1), clipRange: 0.2 })
      expect(ref.loss).toBeCloseTo(c.loss, 10)
    }
    // All three as one padded batch: masked mean of the maxima = ½·(0.25 + 0.16 + 1.0)/3
    const batch = valueLoss({
      values: t2([[1.0, 0.6, 99], [1.0, 99, 99]]),
      oldValues: t2([[0.5, 0.5, 0], [0.5, 0, 0]]),
      returns: t2([[1.2, 1.0, 0], [0.0, 0, 0]]),
      mask: t2([[1, 1, 0], [1, 0, 0]]),
      clipRange: 0.2
    })
    expect(batch.loss.dataSync()[0]).toBeCloseTo((0.5 * (0.25 + 0.16 + 1.0)) / 3, 6)
    expect(batch.clipFraction.dataSync()[0]).toBeCloseTo(1 / 3, 6)
  })

  it("stops the gradient when the clipped error dominates", () => {
    const grad = (v: number, r: number) =>
      tf.grad((x: tf.Tensor) => valueLoss({ values: x, oldValues: t2(one(0.5)), returns: t2(one(r)), mask: t2(one(1)), clipRange: 0.2 }).loss)(t2(one(v))).dataSync()[0]!
    expect(grad(1.0, 1.2)).toBeCloseTo(0, 6) // clipped branch is constant in v
    expect(grad(1.0, 0.0)).toBeCloseTo(1.0, 5) // d ½(v − R)²/dv = v − R = 1
  })
})
