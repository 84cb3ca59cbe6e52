import * as tf from "@tensorflow/tfjs-core"
import type { GradConfig, KernelConfig, TensorInfo } from "@tensorflow/tfjs-core"
import { BACKEND, f32, nativeKernel, output } from "../Kernel.ts"
import type { NativeBackend } from "../NativeBackend.ts"

/** Backward kernel of Softmax: dx = y * (dy - sum(dy * y)) along the last axis. */
export const SoftmaxGrad = "RlhfSoftmaxGrad"
/**
 * Log-softmax along the last axis, {logits} -> same shape. tf.logSoftmax is a
 * composite (no kernel), so callers reach this one through runKernel.
 */
export const LogSoftmax = "RlhfLogSoftmax"
/** Backward kernel of RlhfLogSoftmax: {y: log-probabilities, dy} -> dy - exp(y) * sum(dy). */
export const LogSoftmaxGrad = "RlhfLogSoftmaxGrad"

/** Softmax along the last axis (the only axis tfjs supports). */
const softmax = (): KernelConfig =>
  nativeKernel(tf.Softmax, ({ inputs, backend, attrs }) => {
    const x = inputs["logits"] as TensorInfo
    const xv = f32(backend, x)
    const rank = x.shape.length
    const dim = Number(attrs["dim"] ?? -1)
    if (xv === undefined || rank === 0 || (dim !== -1 && dim !== rank - 1)) return undefined
    const cols = x.shape[rank - 1]!
    const out = backend.pool.f32(xv.length)
    if (cols > 0) backend.addon.softmax(xv, out, xv.length / cols, cols)
    return output(backend, x.shape, "float32", out)
  })

const softmaxGrad = (): KernelConfig =>
  nativeKernel(SoftmaxGrad, ({ inputs, backend }) => {
    const y = inputs["y"] as TensorInfo, dy = inputs["dy"] as TensorInfo
    const yv = f32(backend, y), dyv = f32(backend, dy)
    const cols = y.shape[y.shape.length - 1] ?? 0
    if (yv === undefined || dyv === undefined || yv.length !== dyv.length || cols === 0) return undefined
    const out = backend.pool.f32(yv.length)
    backend.addon.softmaxGrad(yv, dyv, out, yv.length / cols, cols)
    return output(backend, y.shape, "float32", out)
  })

/** A last-axis row kernel of one or two same-shaped float32 inputs, output of that shape. */
const rowKernel = (name: string, inputs: [string, string?], run: (b: NativeBackend, a: Float32Array, c: Float32Array | undefined, out: Float32Array, rows: number, cols: number) => void): KernelConfig =>
  nativeKernel(name, ({ inputs: given, backend }) => {
    const first = given[inputs[0]] as TensorInfo
    const second = inputs[1] === undefined ? undefined : (given[inputs[1]] as TensorInfo)
    const a = f32(backend, first), c = second === undefined ? undefined : f32(backend, second)
    const cols = first.shape[first.shape.length - 1] ?? 0
    if (a === undefined || (second !== undefined && (c === undefined || c.length !== a.length))) {
      throw new Error(`${name}: expected float32 inputs of one shape`)
    }
    const out = backend.pool.f32(a.length)
    if (cols > 0) run(backend, a, c, out, a.length / cols, cols)
    return output(backend, first.shape, "float32", out)
  })

const logSoftmax = (): KernelConfig => rowKernel(LogSoftmax, ["logits"], (b, x, _, out, rows, cols) => b.addon.logSoftmax(x, out, rows, cols))
const logSoftmaxGrad = (): KernelConfig =>
  rowKernel(LogSoftmaxGrad, ["y", "dy"], (b, y, dy, out, rows, cols) => b.addon.logSoftmaxGrad(y, dy!, out, rows, cols))

/** Native softmax kernels. */
export const softmaxKernels = (): KernelConfig[] => [softmax(), softmaxGrad(), logSoftmax(), logSoftmaxGrad()]

/** Gradient of RlhfLogSoftmax through its backward kernel. */
export const logSoftmaxGradient = (): GradConfig => ({
  kernelName: LogSoftmax,
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const [y] = saved as [tf.Tensor]
    return { logits: () => tf.engine().runKernel(LogSoftmaxGrad, { y, dy: dy as tf.Tensor }, {}) as tf.Tensor }
  }
})

// tfjs' own Softmax gradient (four kernels, four passes), used on other backends.
const stockGradient = (dy: tf.Tensor, y: tf.Tensor, dim: number): tf.Tensor => {
  const dyTimesY = tf.mul(dy, y)
  return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y))
}

/**
 * The Softmax gradient as one native pass on the native backend; on any other
 * backend it defers to the previously registered gradient (tfjs' own), so cpu
 * results do not change. Gradients are global in tfjs, hence the dispatch.
 */
export const softmaxGradient = (previous: GradConfig | undefined): GradConfig => ({
  kernelName: tf.Softmax,
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [y] = saved as [tf.Tensor]
    const dim = Number(attrs["dim"] ?? -1)
    if (tf.getBackend() === BACKEND && (dim === -1 || dim === y.rank - 1)) {
      return { logits: () => tf.engine().runKernel(SoftmaxGrad, { y, dy: dy as tf.Tensor }, {}) as tf.Tensor }
    }
    if (previous !== undefined) return previous.gradFunc(dy, saved, attrs)
    return { logits: () => stockGradient(dy as tf.Tensor, y, dim === -1 ? y.rank - 1 : dim) }
  }
})
