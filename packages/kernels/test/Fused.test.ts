import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { Gelu, LayerNorm, LogSoftmax, SoftmaxCrossEntropy } from "../src/index.ts"
import { ensureNative, expectNativePath, ints, on, rand, relErr } from "./compare.ts"

// Fused kernel (native) vs the composite formula (stock kernels on cpu), float32.
const TOL_FWD = 1e-5
const TOL_GRAD = 1e-4

beforeAll(ensureNative)

// The composites the nn package uses when a backend lacks the fused kernel.
const layerNormComposite = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number) => {
  const mean = tf.mean(x, -1, true)
  const centred = tf.sub(x, mean)
  const variance = tf.mean(tf.square(centred), -1, true)
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gamma), beta)
}
const geluComposite = (x: tf.Tensor) =>
  tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1))
const xentComposite = (logits: tf.Tensor, labels: tf.Tensor) =>
  tf.sub(tf.logSumExp(logits, -1), tf.sum(tf.mul(logits, tf.oneHot(labels, logits.shape[1]!, 1, 0, "float32")), -1))

const layerNorm = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number) =>
  tf.getBackend() === "native" ? (tf.engine().runKernel(LayerNorm, { x, gamma, beta }, { eps }) as tf.Tensor) : layerNormComposite(x, gamma, beta, eps)
const gelu = (x: tf.Tensor) => (tf.getBackend() === "native" ? (tf.engine().runKernel(Gelu, { x }, {}) as tf.Tensor) : geluComposite(x))
const xent = (logits: tf.Tensor, labels: tf.Tensor) =>
  tf.getBackend() === "native" ? (tf.engine().runKernel(SoftmaxCrossEntropy, { logits, labels }, {}) as tf.Tensor) : xentComposite(logits, labels)

/** Outputs of `f` on native (fused) and cpu (composite), each within its tolerance. */
const expectFusedParity = async (f: () => tf.Tensor[], tols: number[]) => {
  const cpu = await on("cpu", f)
  const native = await on("native", f)
  cpu.forEach((c, i) => {
    expect(native[i]!.shape).toEqual(c.shape)
    expect(relErr(native[i]!.values, c.values)).toBeLessThanOrEqual(tols[i]!)
  })
}

describe("fused kernels registered only for the native backend", () => {
  it("exist on native, not on cpu", () => {
    for (const name of [LayerNorm, Gelu, SoftmaxCrossEntropy]) {
      expect(tf.getKernel(name, "native")).toBeDefined()
      expect(tf.getKernel(name, "cpu")).toBeUndefined()
    }
  })
})

describe("RlhfLayerNorm", () => {
  it("forward and gradients (x, gamma, beta) match the composite", async () => {
    // A weight on the output makes dy non-uniform, so every gradient term matters.
    const f = () => {
      const x = rand([3, 5, 32], 1, -3, 3), gamma = rand([32], 2, 0.5, 1.5), beta = rand([32], 3), w = rand([3, 5, 32], 4)
      const y = layerNorm(x, gamma, beta, 1e-5)
      const [dx, dg, db] = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layerNorm(a, g, b, 1e-5), w)))([x, gamma, beta])
      return [y, dx!, dg!, db!]
    }
    await expectNativePath(LayerNorm, () => expectFusedParity(f, [TOL_FWD, TOL_GRAD, TOL_GRAD, TOL_GRAD]))
  })

  it("honours eps and normalises each row", async () => {
    const [y] = await on("native", () => layerNorm(tf.tensor([[1, 1, 1, 1], [0, 2, 4, 6]]), tf.ones([4]), tf.zeros([4]), 0.5))
    expect(y!.values.slice(0, 4)).toEqual([0, 0, 0, 0])
    const mean = y!.values.slice(4).reduce((a, b) => a + b, 0) / 4
    const v = y!.values.slice(4).reduce((a, b) => a + (b - mean) ** 2, 0) / 4
    expect(Math.abs(mean)).toBeLessThan(1e-6)
    expect(v).toBeCloseTo(5 / 5.5, 5) // var 5 over var + eps
  })

  it("rejects gamma of the wrong size", async () => {
    await tf.setBackend("native")
    expect(() => tf.tidy(() => tf.engine().runKernel(LayerNorm, { x: tf.zeros([2, 4]), gamma: tf.ones([3]), beta: tf.zeros([4]) }, { eps: 1e-5 }))).toThrow(/gamma and beta/)
  })
})

describe("RlhfGelu", () => {
  it("forward and gradient match the composite", async () => {
    const f = () => {
      const x = rand([7, 129], 5, -6, 6), w = rand([7, 129], 6)
      return [gelu(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gelu(a), w)))(x)]
    }
    await expectNativePath(Gelu, () => expectFusedParity(f, [TOL_FWD, TOL_GRAD]))
  })
})

describe("RlhfLogSoftmax", () => {
  it("forward and gradient match tf.logSoftmax (composite) on cpu", async () => {
    const f = () => {
      const x = rand([37, 65], 20, -6, 6), w = rand([37, 65], 21)
      const op = (a: tf.Tensor) => (tf.getBackend() === "native" ? (tf.engine().runKernel(LogSoftmax, { logits: a }, {}) as tf.Tensor) : tf.logSoftmax(a))
      return [op(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(op(a), w)))(x)]
    }
    await expectNativePath(LogSoftmax, () => expectFusedParity(f, [TOL_FWD, TOL_GRAD]))
  })
})

describe("RlhfSoftmaxCrossEntropy", () => {
  it("loss and logits gradient match the composite", async () => {
    const labels = ints(24, 7, 50)
    const f = () => {
      const logits = rand([24, 50], 8, -8, 8), w = rand([24], 9, 0, 1), y = tf.tensor(labels, [24], "int32")
      return [xent(logits, y), tf.grad((l: tf.Tensor) => tf.sum(tf.mul(xent(l, y), w)))(logits)]
    }
    await expectNativePath(SoftmaxCrossEntropy, () => expectFusedParity(f, [TOL_FWD, TOL_GRAD]))
  })

  it("is stable for large logits", async () => {
    const [loss] = await on("native", () => xent(tf.tensor([[1000, 0, -1000]]), tf.tensor([0], [1], "int32")))
    expect(loss!.values[0]).toBeCloseTo(0, 6)
  })
})
