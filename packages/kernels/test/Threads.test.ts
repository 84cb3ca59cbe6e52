import * as tf from "@tensorflow/tfjs-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { getThreads, LayerNorm, SoftmaxCrossEntropy, setThreads } from "../src/index.ts"
import { ensureNative, expectParity, ints, on, rand, relErr } from "./compare.ts"

// Inputs above the 32768-element threshold, so the kernels split across threads.
const TOL = 1e-5
const TOL_GRAD = 1e-4

let initial = 1
beforeAll(async () => {
  await ensureNative()
  initial = getThreads()
})
afterAll(() => setThreads(initial))

const cases: Array<[string, () => tf.Tensor | tf.Tensor[], number]> = [
  ["add by rows", () => tf.add(rand([64, 1024], 1), rand([1024], 2)), TOL],
  ["mul of one long row", () => tf.mul(rand([100003], 3), rand([100003], 4)), TOL],
  ["sub scalar broadcast", () => tf.sub(rand([70001], 5), tf.scalar(0.25)), TOL],
  ["greater", () => tf.greater(rand([300, 333], 6), rand([300, 1], 7)), 0],
  ["exp", () => tf.exp(rand([70001], 8, -5, 5)), TOL],
  ["softmax", () => tf.softmax(rand([300, 200], 9, -5, 5)), TOL],
  ["select", () => tf.where(tf.greater(rand([300, 300], 10), 0), rand([300, 300], 11), rand([300, 300], 12)), 0],
  ["cast int32 -> float32", () => tf.cast(tf.tensor(ints(70001, 20, 1000), [70001], "int32"), "float32"), 0],
  ["cast float32 -> int32", () => tf.cast(rand([70001], 21, -1000, 1000), "int32"), 0],
  ["cast bool -> float32", () => tf.cast(tf.greater(rand([70001], 22), 0), "float32"), 0]
]

describe.each([1, 2, 3])("with %i thread(s)", (threads) => {
  beforeAll(() => setThreads(threads))

  for (const [label, f, tol] of cases) {
    it(`${label} matches cpu`, async () => {
      await expectParity(f, tol, label)
    })
  }

  it("fused LayerNorm (forward, dx, dgamma, dbeta), GELU and cross-entropy agree with one thread", async () => {
    const f = () => {
      const x = rand([600, 128], 13, -3, 3), g = rand([128], 14, 0.5, 1.5), b = rand([128], 15), w = rand([600, 128], 16)
      const ln = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.engine().runKernel(LayerNorm, { x: a, gamma: gg, beta: bb }, { eps: 1e-5 }) as tf.Tensor
      const grads = tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(ln(a, gg, bb), w)))([x, g, b])
      const logits = rand([300, 512], 17, -4, 4), labels = tf.tensor(ints(300, 18, 512), [300], "int32")
      const xent = tf.grad((l: tf.Tensor) => tf.sum(tf.engine().runKernel(SoftmaxCrossEntropy, { logits: l, labels }, {}) as tf.Tensor))(logits)
      const gelu = tf.engine().runKernel("RlhfGelu", { x: rand([70001], 19, -4, 4) }, {}) as tf.Tensor
      return [ln(x, g, b), ...grads, xent, gelu]
    }
    const many = await on("native", f)
    setThreads(1)
    const one = await on("native", f)
    setThreads(threads)
    many.forEach((m, i) => expect(relErr(m.values, one[i]!.values)).toBeLessThanOrEqual(TOL_GRAD))
  })
})
