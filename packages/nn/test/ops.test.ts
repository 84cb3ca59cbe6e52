/**
 * The fused-kernel contract of src/ops.ts, exercised with plain-JS reference kernels registered
 * on the cpu backend (what @rlhf/kernels implements natively): ops must dispatch to registered
 * kernels, agree with the composed tfjs path, and train identically through their gradients.
 */
import * as tf from "@tensorflow/tfjs-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as AdamW from "../src/AdamW.ts"
import * as Gpt from "../src/Gpt.ts"
import * as ops from "../src/ops.ts"
import * as Train from "../src/Train.ts"
import { maxAbsDiff } from "./backends.ts"

type CpuBackend = { readSync: (id: unknown) => Float32Array | Int32Array; makeTensorInfo: (s: number[], d: string, v: Float32Array) => tf.TensorInfo }
const calls = new Map<string, number>()
const count = (n: string) => calls.set(n, (calls.get(n) ?? 0) + 1)
const C = Math.sqrt(2 / Math.PI)

const kernels: tf.KernelConfig[] = [
  {
    kernelName: ops.KernelNames.layerNorm, backendName: "cpu",
    kernelFunc: ({ inputs, backend, attrs }) => {
      count(ops.KernelNames.layerNorm)
      const be = backend as unknown as CpuBackend
      const { x, gamma, beta } = inputs as Record<string, tf.TensorInfo>
      const xs = be.readSync(x!.dataId), g = be.readSync(gamma!.dataId), b = be.readSync(beta!.dataId)
      const d = x!.shape[x!.shape.length - 1]!, out = new Float32Array(xs.length), eps = (attrs as { eps: number }).eps
      for (let r = 0; r < xs.length; r += d) {
        let mean = 0, v = 0
        for (let i = 0; i < d; i++) mean += xs[r + i]! / d
        for (let i = 0; i < d; i++) v += (xs[r + i]! - mean) ** 2 / d
        for (let i = 0; i < d; i++) out[r + i] = ((xs[r + i]! - mean) / Math.sqrt(v + eps)) * g[i]! + b[i]!
      }
      return be.makeTensorInfo(x!.shape, "float32", out)
    }
  },
  {
    kernelName: ops.KernelNames.gelu, backendName: "cpu",
    kernelFunc: ({ inputs, backend }) => {
      count(ops.KernelNames.gelu)
      const be = backend as unknown as CpuBackend, x = (inputs as Record<string, tf.TensorInfo>)["x"]!
      const xs = be.readSync(x.dataId)
      return be.makeTensorInfo(x.shape, "float32", Float32Array.from(xs, (v) => 0.5 * v * (1 + Math.tanh(C * (v + 0.044715 * v ** 3)))))
    }
  },
  {
    kernelName: ops.KernelNames.softmaxCrossEntropy, backendName: "cpu",
    kernelFunc: ({ inputs, backend }) => {
      count(ops.KernelNames.softmaxCrossEntropy)
      const be = backend as unknown as CpuBackend
      const { logits, labels } = inputs as Record<string, tf.TensorInfo>
      const l = be.readSync(logits!.dataId), y = be.readSync(labels!.dataId), [n, v] = logits!.shape as [number, number]
      const out = new Float32Array(n)
      for (let r = 0; r < n; r++) {
        let max = -Infinity, sum = 0
        for (let j = 0; j < v; j++) max = Math.max(max, l[r * v + j]!)
        for (let j = 0; j < v; j++) sum += Math.exp(l[r * v + j]! - max)
        out[r] = max + Math.log(sum) - l[r * v + y[r]!]!
      }
      return be.makeTensorInfo([n], "float32", out)
    }
  }
]

const gradients: tf.GradConfig[] = [
  {
    kernelName: ops.KernelNames.layerNorm, inputsToSave: ["x", "gamma"],
    gradFunc: (dy, saved, attrs) => {
      const [x, gamma] = saved as [tf.Tensor, tf.Tensor]
      const eps = (attrs as { eps: number }).eps, d = x.shape[x.shape.length - 1]!
      const lead = x.shape.slice(0, -1).map((_, i) => i)
      const mean = tf.mean(x, -1, true), rstd = tf.rsqrt(tf.add(tf.mean(tf.square(tf.sub(x, mean)), -1, true), eps))
      const xhat = tf.mul(tf.sub(x, mean), rstd), dxhat = tf.mul(dy as tf.Tensor, gamma)
      return {
        x: () => tf.mul(rstd, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xhat, tf.div(tf.sum(tf.mul(dxhat, xhat), -1, true), d)))),
        gamma: () => tf.sum(tf.mul(dy as tf.Tensor, xhat), lead),
        beta: () => tf.sum(dy as tf.Tensor, lead)
      }
    }
  },
  {
    kernelName: ops.KernelNames.gelu, inputsToSave: ["x"],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor]
      const th = tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), C))
      const dudx = tf.mul(tf.add(1, tf.mul(tf.square(x), 3 * 0.044715)), C)
      return { x: () => tf.mul(dy as tf.Tensor, tf.add(tf.mul(0.5, tf.add(1, th)), tf.mul(tf.mul(0.5, x), tf.mul(tf.sub(1, tf.square(th)), dudx)))) }
    }
  },
  {
    kernelName: ops.KernelNames.softmaxCrossEntropy, inputsToSave: ["logits", "labels"],
    gradFunc: (dy, saved) => {
      const [logits, labels] = saved as [tf.Tensor2D, tf.Tensor1D]
      return { logits: () => tf.mul(tf.sub(tf.softmax(logits), ops.oneHot(labels, logits.shape[1])), tf.expandDims(dy as tf.Tensor, 1)) }
    }
  }
]

const register = () => (kernels.forEach((k) => tf.registerKernel(k)), gradients.forEach((g) => tf.registerGradient(g)))
const unregister = () =>
  kernels.forEach((k) => {
    if (tf.getKernel(k.kernelName, "cpu") !== undefined) tf.unregisterKernel(k.kernelName, "cpu"), tf.unregisterGradient(k.kernelName)
  })

const config: Gpt.Config = { vocabSize: 20, dModel: 16, nLayers: 2, nHeads: 2, contextLength: 10 }
const batch = () => Train.sftBatch([{ prompt: Int32Array.of(1, 2, 3), response: Int32Array.of(4, 5, 6, 0) }, { prompt: Int32Array.of(7), response: Int32Array.of(8, 9) }], 10)
// Loss and weights after a few steps from the same init.
const train = (steps: number) => {
  const m = Gpt.init(config, { seed: 5 }), opt = AdamW.make(m.params), b = batch()
  const losses = Array.from({ length: steps }, () => Train.trainStep(m, opt, Train.lmBatchLoss, b, { lr: 1e-2 }).loss)
  const wte = m.params.get("wte")!.dataSync().slice()
  Gpt.dispose(m), AdamW.dispose(opt), tf.dispose([b.ids, b.targets, b.lossMask, b.attentionMask])
  return { losses, wte }
}

describe("fused kernel contract (reference kernels on cpu)", () => {
  beforeAll(async () => void (await tf.setBackend("cpu")))
  afterAll(unregister)

  it("dispatches to registered kernels, matching the composed ops and training identically", () => {
    const x = tf.randomNormal([3, 4, 8], 0, 2, "float32", 1), g = tf.randomNormal([8], 1, 0.2, "float32", 2), b = tf.randomNormal([8], 0, 0.2, "float32", 3)
    const logits = tf.randomNormal([6, 11], 0, 3, "float32", 4) as tf.Tensor2D, labels = tf.tensor1d([0, 3, 10, 5, 5, 1], "int32")
    const run = () => [ops.layerNorm(x, g, b).dataSync(), ops.gelu(x).dataSync(), ops.softmaxCrossEntropy(logits, labels).dataSync()]
    const composed = run(), before = train(4)
    expect(calls.size).toBe(0)
    register()
    const fused = run(), after = train(4)
    composed.forEach((c, i) => expect(maxAbsDiff(c, fused[i]!)).toBeLessThan(1e-5))
    for (const name of Object.values(ops.KernelNames)) expect(calls.get(name) ?? 0).toBeGreaterThan(0)
    expect(maxAbsDiff(before.losses, after.losses)).toBeLessThan(1e-4)
    expect(maxAbsDiff(before.wte, after.wte)).toBeLessThan(1e-4)
    unregister()
    calls.clear(), run()
    expect(calls.size).toBe(0) // back to the composed path
  })
})
