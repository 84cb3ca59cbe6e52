import * as tf from "@tensorflow/tfjs-core"
import type { GradConfig, KernelConfig, TensorInfo } from "@tensorflow/tfjs-core"
import { f32, i32, nativeKernel, output, sizeOf } from "../Kernel.ts"
import type { NativeBackend } from "../NativeBackend.ts"

/** Kernel names of the fused ops (the nn package calls them through runKernel when registered). */
export const LayerNorm = "RlhfLayerNorm"
export const LayerNormGrad = "RlhfLayerNormGrad"
export const Gelu = "RlhfGelu"
export const GeluGrad = "RlhfGeluGrad"
export const SoftmaxCrossEntropy = "RlhfSoftmaxCrossEntropy"
export const SoftmaxCrossEntropyGrad = "RlhfSoftmaxCrossEntropyGrad"

/** Float32 values of `t`, converting other numeric storage (fused kernels have no cpu fallback). */
const floats = (b: NativeBackend, t: TensorInfo, name: string): Float32Array => {
  const v = f32(b, t)
  if (v !== undefined) return v
  const stored: unknown = b.data.get(t.dataId)?.values
  if (t.dtype !== "complex64" && t.dtype !== "string" && (stored instanceof Int32Array || stored instanceof Uint8Array || stored instanceof Float32Array)) {
    return Float32Array.from(stored)
  }
  throw new Error(`${name}: expected a numeric tensor, got dtype ${t.dtype}`)
}

/** Rows and columns of a tensor normalised over its last axis, checking gamma / beta sizes. */
const rowsCols = (x: TensorInfo, params: TensorInfo[]): [number, number] => {
  const cols = x.shape[x.shape.length - 1] ?? 1
  for (const p of params) {
    if (sizeOf(p.shape) !== cols) throw new Error(`${LayerNorm}: gamma and beta must have ${cols} elements (the last dim of x [${x.shape}]), got [${p.shape}]`)
  }
  return [cols === 0 ? 0 : sizeOf(x.shape) / cols, cols]
}

/** y = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis. */
const layerNorm = (): KernelConfig =>
  nativeKernel(LayerNorm, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo, gamma = inputs["gamma"] as TensorInfo, beta = inputs["beta"] as TensorInfo
    const [rows, cols] = rowsCols(x, [gamma, beta])
    const out = backend.pool.f32(rows * cols)
    const eps = Number(attrs["eps"] ?? 1e-5)
    backend.addon.layerNorm(floats(backend, x, LayerNorm), floats(backend, gamma, LayerNorm), floats(backend, beta, LayerNorm), out, rows, cols, eps)
    return output(backend, x.shape, "float32", out)
  })

/** [dx, dgamma, dbeta] from {dy, x, gamma, beta}; mean and rstd are recomputed from x. */
const layerNormGrad = (): KernelConfig =>
  nativeKernel(LayerNormGrad, ({ inputs, backend, attrs }) => {
    const dy = inputs["dy"] as TensorInfo, x = inputs["x"] as TensorInfo
    const gamma = inputs["gamma"] as TensorInfo, beta = inputs["beta"] as TensorInfo
    const [rows, cols] = rowsCols(x, [gamma, beta])
    const dx = backend.pool.f32(rows * cols), dg = backend.pool.f32(cols), db = backend.pool.f32(cols)
    const eps = Number(attrs["eps"] ?? 1e-5)
    backend.addon.layerNormGrad(floats(backend, dy, LayerNormGrad), floats(backend, x, LayerNormGrad), floats(backend, gamma, LayerNormGrad), dx, dg, db, rows, cols, eps)
    return [output(backend, x.shape, "float32", dx), output(backend, gamma.shape, "float32", dg), output(backend, beta.shape, "float32", db)]
  })

/** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
const gelu = (): KernelConfig =>
  nativeKernel(Gelu, ({ inputs, backend }) => {
    const x = inputs["x"] as TensorInfo
    const xv = floats(backend, x, Gelu)
    const out = backend.pool.f32(xv.length)
    backend.addon.gelu(xv, out, xv.length)
    return output(backend, x.shape, "float32", out)
  })

const geluGrad = (): KernelConfig =>
  nativeKernel(GeluGrad, ({ inputs, backend }) => {
    const dy = inputs["dy"] as TensorInfo, x = inputs["x"] as TensorInfo
    const xv = floats(backend, x, GeluGrad)
    const out = backend.pool.f32(xv.length)
    backend.addon.geluGrad(floats(backend, dy, GeluGrad), xv, out, xv.length)
    return output(backend, x.shape, "float32", out)
  })

/** Int32 labels; other numeric storage is converted (the composite path accepts any). */
const labelsOf = (b: NativeBackend, t: TensorInfo): Int32Array => {
  const v = i32(b, t)
  if (v !== undefined) return v
  const stored: unknown = b.data.get(t.dataId)?.values
  if (stored instanceof Float32Array || stored instanceof Uint8Array || stored instanceof Int32Array) return Int32Array.from(stored)
  throw new Error(`${SoftmaxCrossEntropy}: labels must be an int32 tensor, got dtype ${t.dtype}`)
}

/** Logits [N, V] and labels [N] with matching N. */
const xentShapes = (logits: TensorInfo, labels: TensorInfo): [number, number] => {
  if (logits.shape.length !== 2 || sizeOf(labels.shape) !== logits.shape[0]) {
    throw new Error(`${SoftmaxCrossEntropy}: expected logits [N, V] and labels [N], got [${logits.shape}] and [${labels.shape}]`)
  }
  return [logits.shape[0]!, logits.shape[1]!]
}

/** loss[n] = logsumexp(logits[n, :]) - logits[n, labels[n]]. */
const softmaxCrossEntropy = (): KernelConfig =>
  nativeKernel(SoftmaxCrossEntropy, ({ inputs, backend }) => {
    const logits = inputs["logits"] as TensorInfo, labels = inputs["labels"] as TensorInfo
    const [rows, cols] = xentShapes(logits, labels)
    const out = backend.pool.f32(rows)
    backend.addon.softmaxXent(floats(backend, logits, SoftmaxCrossEntropy), labelsOf(backend, labels), out, rows, cols)
    return output(backend, [rows], "float32", out)
  })

/** d logits = (softmax(logits) - onehot(labels)) * dy[:, None]. */
const softmaxCrossEntropyGrad = (): KernelConfig =>
  nativeKernel(SoftmaxCrossEntropyGrad, ({ inputs, backend }) => {
    const logits = inputs["logits"] as TensorInfo, labels = inputs["labels"] as TensorInfo, dy = inputs["dy"] as TensorInfo
    const [rows, cols] = xentShapes(logits, labels)
    const out = backend.pool.f32(rows * cols)
    backend.addon.softmaxXentGrad(floats(backend, logits, SoftmaxCrossEntropyGrad), labelsOf(backend, labels), floats(backend, dy, SoftmaxCrossEntropyGrad), out, rows, cols)
    return output(backend, logits.shape, "float32", out)
  })

/** The fused forward and backward kernels. */
export const fusedKernels = (): KernelConfig[] => [
  layerNorm(),
  layerNormGrad(),
  gelu(),
  geluGrad(),
  softmaxCrossEntropy(),
  softmaxCrossEntropyGrad()
]

/** Gradients of the fused ops, computed by their backward kernels. */
export const fusedGradients = (): GradConfig[] => [
  {
    kernelName: LayerNorm,
    inputsToSave: ["x", "gamma", "beta"],
    gradFunc: (dy, saved, attrs) => {
      const [x, gamma, beta] = saved as [tf.Tensor, tf.Tensor, tf.Tensor]
      const [dx, dgamma, dbeta] = tf.engine().runKernel(LayerNormGrad, { dy: dy as tf.Tensor, x, gamma, beta }, attrs) as tf.Tensor[]
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! }
    }
  },
  {
    kernelName: SoftmaxCrossEntropy,
    inputsToSave: ["logits", "labels"],
    gradFunc: (dy, saved) => {
      const [logits, labels] = saved as [tf.Tensor, tf.Tensor]
      return {
        logits: () => tf.engine().runKernel(SoftmaxCrossEntropyGrad, { logits, labels, dy: dy as tf.Tensor }, {}) as tf.Tensor,
        labels: () => tf.zeros(labels.shape) // labels are never differentiated
      }
    }
  },
  {
    kernelName: Gelu,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor]
      return { x: () => tf.engine().runKernel(GeluGrad, { dy: dy as tf.Tensor, x }, {}) as tf.Tensor }
    }
  }
]
