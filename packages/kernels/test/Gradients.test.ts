import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, it } from "vitest"
import { SoftmaxGrad } from "../src/index.ts"
import { ensureNative, expectNativePath, expectParity, ints, rand } from "./compare.ts"

// Gradients chain matmuls and reductions: same tolerance as those kernels.
const TOL_GRAD = 1e-4

beforeAll(ensureNative)

const grads = (f: (...xs: tf.Tensor[]) => tf.Tensor, makeInputs: () => tf.Tensor[]) => (): tf.Tensor[] => {
  const xs = makeInputs()
  return tf.grads(f)(xs)
}

describe("tf.grad through the native kernels", () => {
  it("broadcasting arithmetic reduces the gradient over broadcast axes", async () => {
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.div(tf.mul(tf.sub(tf.add(a, b), c), a), tf.add(tf.square(c), 1)))
    await expectNativePath(tf.Sum, () => expectParity(grads(f, () => [rand([4, 3, 5], 1), rand([5], 2), rand([4, 1, 5], 3)]), TOL_GRAD, "arith"))
  })

  it("matmul, softmax and transpose (an attention head)", async () => {
    const f = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => {
      const s = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 0.5))
      return tf.sum(tf.square(tf.transpose(tf.matMul(s, v), [0, 2, 1, 3])))
    }
    await expectNativePath(SoftmaxGrad, () => expectParity(grads(f, () => [rand([2, 3, 8, 4], 1), rand([2, 3, 8, 4], 2), rand([2, 3, 8, 4], 3)]), TOL_GRAD, "attention"))
  })

  it("embedding gather: the table gradient is a segment sum", async () => {
    const ids = ints(40, 7, 16)
    const f = (table: tf.Tensor, w: tf.Tensor) => tf.sum(tf.tanh(tf.matMul(tf.reshape(tf.gather(table, tf.tensor(ids, [5, 8], "int32")), [40, 6]), w)))
    await expectNativePath(tf.UnsortedSegmentSum, () => expectParity(grads(f, () => [rand([16, 6], 1), rand([6, 3], 2)]), TOL_GRAD, "gather"))
  })

  it("max, mean, split, concat, pad-from-slice, sigmoid, exp, log", async () => {
    const f = (x: tf.Tensor) => {
      const [a, b, c] = tf.split(x, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor]
      const y = tf.concat([tf.sigmoid(a), tf.exp(tf.mul(b, 0.3)), tf.log(tf.add(tf.square(c), 1))], 1)
      return tf.add(tf.sum(tf.max(y, 1)), tf.sum(tf.mean(tf.slice(y, [1, 2], [2, 4]), 0)))
    }
    await expectNativePath(tf.PadV2, () => expectParity(grads(f, () => [rand([4, 9], 1)]), TOL_GRAD, "mixed"))
  })

  it("a two-layer MLP with bias, relu and a log-softmax loss", async () => {
    const f = (x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor) => {
      const h = tf.relu(tf.add(tf.matMul(x, w1), b1))
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(tf.matMul(h, w2)), tf.oneHot(tf.tensor(ints(16, 3, 5), [16], "int32"), 5)), -1)))
    }
    await expectParity(grads(f, () => [rand([16, 12], 1), rand([12, 20], 2), rand([20], 3), rand([20, 5], 4)]), TOL_GRAD, "mlp")
  })
})
