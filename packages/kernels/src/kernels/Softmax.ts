import * as tf from "@tensorflow/tfjs-core"
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core"
import { f32, nativeKernel, output } from "../Kernel.ts"

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

/** Native softmax kernels. */
export const softmaxKernels = (): KernelConfig[] => [softmax()]
