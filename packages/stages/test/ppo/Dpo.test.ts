import "@tensorflow/tfjs-backend-cpu"
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { dpoLoss, dpoLossReference } from "../../src/ppo/Dpo.ts"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x))

describe("DPO loss", () => {
  // β = 0.1. Pair 0: policy gained 2 nats on y_w and lost 1 on y_l vs the reference:
  //   chosen reward 0.1·(−10 − −12) = 0.2, rejected 0.1·(−15 − −14) = −0.1, margin 0.3, loss log(1 + e^−0.3) = 0.5543552
  // Pair 1: the policy prefers y_l: chosen 0.1·(−8 − −7) = −0.1, rejected 0.1·(−5 − −6) = 0.1, margin −0.2,
  //   loss log(1 + e^0.2) = 0.7981389
  const input = { policyChosen: [-10, -8], policyRejected: [-15, -5], refChosen: [-12, -7], refRejected: [-14, -6], beta: 0.1 }
  const tensors = () => ({
    policyChosen: tf.tensor1d(input.policyChosen),
    policyRejected: tf.tensor1d(input.policyRejected),
    refChosen: tf.tensor1d(input.refChosen),
    refRejected: tf.tensor1d(input.refRejected),
    beta: input.beta
  })

  it("gives the hand-computed loss and metrics", () => {
    const out = dpoLoss(tensors())
    expect(out.loss.dataSync()[0]).toBeCloseTo((0.5543552 + 0.7981389) / 2, 5)
    expect(out.accuracy.dataSync()[0]).toBe(0.5)
    expect(out.margin.dataSync()[0]).toBeCloseTo((0.3 - 0.2) / 2, 6)
    expect(out.chosenReward.dataSync()[0]).toBeCloseTo((0.2 - 0.1) / 2, 6)
    expect(out.rejectedReward.dataSync()[0]).toBeCloseTo(0, 6)
    const ref = dpoLossReference(input)
    expect(ref.loss).toBeCloseTo((Math.log1p(Math.exp(-0.3)) + Math.log1p(Math.exp(0.2))) / 2, 10)
    expect(out.loss.dataSync()[0]).toBeCloseTo(ref.loss, 5)
  })

  it("pushes log π(y_w) up and log π(y_l) down", () => {
    const t = tensors()
    const [gChosen, gRejected] = tf.grads((pc: tf.Tensor, pr: tf.Tensor) => dpoLoss({ ...t, policyChosen: pc, policyRejected: pr }).loss)([
      t.policyChosen,
      t.policyRejected
    ])
    const gc = Array.from(gChosen!.dataSync()), gr = Array.from(gRejected!.dataSync())
    // d/d logπ(y_w) = −β·σ(−margin)/B: pair 0 −0.1·σ(−0.3)/2 = −0.0212887
    expect(gc[0]).toBeCloseTo((-0.1 * sigmoid(-0.3)) / 2, 6)
    expect(gc[1]).toBeCloseTo((-0.1 * sigmoid(0.2)) / 2, 6)
    expect(gr[0]).toBeCloseTo((0.1 * sigmoid(-0.3)) / 2, 6)
    for (const g of gc) expect(g).toBeLessThan(0)
    for (const g of gr) expect(g).toBeGreaterThan(0)
    // The wrongly-ranked pair gets the larger push.
    expect(Math.abs(gc[1]!)).toBeGreaterThan(Math.abs(gc[0]!))
  })
})
