import "@tensorflow/tfjs-backend-cpu"
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { rewardModelLoss, rewardModelLossReference } from "../../src/ppo/RewardModelLoss.ts"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x))

describe("Bradley-Terry reward-model loss with score prior", () => {
  // λ = 0.01. Pair 0: r_w = 1, r_l = 0 → −log σ(1) = 0.3132617, prior 0.01·(1 + 0) = 0.01
  // Pair 1: r_w = 0, r_l = 0.5 → −log σ(−0.5) = 0.9740770, prior 0.01·(0 + 0.25) = 0.0025
  // Scores {1, 0, 0, 0.5}: mean 0.375, population variance (0.390625 + 0.140625·2 + 0.015625)/4 = 0.171875
  const chosen = [1, 0], rejected = [0, 0.5]

  it("gives the hand-computed loss and metrics", () => {
    const out = rewardModelLoss({ chosen: tf.tensor1d(chosen), rejected: tf.tensor1d(rejected), scorePrior: 0.01 })
    expect(out.loss.dataSync()[0]).toBeCloseTo((0.3132617 + 0.01 + 0.974077 + 0.0025) / 2, 5)
    expect(out.accuracy.dataSync()[0]).toBe(0.5)
    expect(out.margin.dataSync()[0]).toBeCloseTo(0.25, 6)
    expect(out.scoreMean.dataSync()[0]).toBeCloseTo(0.375, 6)
    expect(out.scoreStd.dataSync()[0]).toBeCloseTo(Math.sqrt(0.171875), 5)
    const ref = rewardModelLossReference({ chosen, rejected, scorePrior: 0.01 })
    expect(ref.loss).toBeCloseTo((Math.log1p(Math.exp(-1)) + 0.01 + Math.log1p(Math.exp(0.5)) + 0.0025) / 2, 10)
    expect(out.loss.dataSync()[0]).toBeCloseTo(ref.loss, 5)
    // λ = 0 is plain Bradley-Terry.
    const plain = rewardModelLoss({ chosen: tf.tensor1d(chosen), rejected: tf.tensor1d(rejected), scorePrior: 0 })
    expect(plain.loss.dataSync()[0]).toBeCloseTo((0.3132617 + 0.974077) / 2, 5)
  })

  it("raises r_w, lowers r_l, and the prior pulls large scores towards 0", () => {
    const [gw, gl] = tf.grads((w: tf.Tensor, l: tf.Tensor) => rewardModelLoss({ chosen: w, rejected: l, scorePrior: 0.01 }).loss)([
      tf.tensor1d(chosen),
      tf.tensor1d(rejected)
    ])
    const w = Array.from(gw!.dataSync()), l = Array.from(gl!.dataSync())
    // d/dr_w = (−σ(−(r_w − r_l)) + 2λ·r_w)/B ; d/dr_l = (σ(−(r_w − r_l)) + 2λ·r_l)/B
    expect(w[0]).toBeCloseTo((-sigmoid(-1) + 0.02) / 2, 6)
    expect(l[1]).toBeCloseTo((sigmoid(0.5) + 0.01) / 2, 6)
    for (const g of w) expect(g).toBeLessThan(0)
    for (const g of l) expect(g).toBeGreaterThan(0)
    // With the pair already well separated, the prior dominates and pulls a huge chosen score down.
    const [gBig] = tf.grads((x: tf.Tensor) => rewardModelLoss({ chosen: x, rejected: tf.tensor1d([-30]), scorePrior: 0.01 }).loss)([tf.tensor1d([30])])
    expect(gBig!.dataSync()[0]).toBeGreaterThan(0)
  })
})
