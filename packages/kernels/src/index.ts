/**
 * Native CPU kernels for TensorFlow.js: a tfjs backend named "native" that is
 * the cpu backend with its hot kernels (matmul, elementwise, softmax,
 * reductions, transpose, gather and its gradient, fused LayerNorm / GELU, ...)
 * replaced by an N-API addon on OpenBLAS, and output buffers recycled.
 */
import * as tf from "@tensorflow/tfjs-core"
import { totalmem } from "node:os"
import "@tensorflow/tfjs-backend-cpu"
import { loadAddon } from "./Addon.ts"
import type { AddonStatus } from "./Addon.ts"
import type { PoolStats } from "./BufferPool.ts"
import { BACKEND } from "./Kernel.ts"
import { elementwiseKernels } from "./kernels/Elementwise.ts"
import { fusedGradients, fusedKernels } from "./kernels/Fused.ts"
import { gatherKernels } from "./kernels/Gather.ts"
import { layoutKernels } from "./kernels/Layout.ts"
import { matMulKernels } from "./kernels/MatMul.ts"
import { reduceKernels } from "./kernels/Reduce.ts"
import { logSoftmaxGradient, softmaxGradient, softmaxKernels } from "./kernels/Softmax.ts"
import { NativeBackend } from "./NativeBackend.ts"

export { BACKEND, pathCounts, resetPathCounts } from "./Kernel.ts"
export type { PathCounts } from "./Kernel.ts"
export { Gelu, GeluGrad, LayerNorm, LayerNormGrad, SoftmaxCrossEntropy, SoftmaxCrossEntropyGrad } from "./kernels/Fused.ts"
export { LogSoftmax, LogSoftmaxGrad, SoftmaxGrad } from "./kernels/Softmax.ts"
export { GPT_LAYER_WEIGHTS, GPT_MODEL_WEIGHTS, GptDecoder, nativeDecodeAvailable } from "./Decode.ts"
export type { GptDims } from "./Decode.ts"
export type { AddonStatus } from "./Addon.ts"
export type { PoolStats } from "./BufferPool.ts"

/** Package version (reported by the nn package's backend chooser). */
export const version = "0.1.0"

/** Options of registerNativeBackend. */
export interface NativeOptions {
  /** Upper bound of recycled-buffer memory (default RLHF_KERNELS_POOL_MB, else min(1 GiB, RAM / 8)). */
  readonly maxPoolBytes?: number
  /** Priority for tfjs' automatic backend choice (default 0: never picked over cpu unless set). */
  readonly priority?: number
}

/** Whether the compiled addon can be loaded in this process. */
export const nativeAvailable = (): boolean => loadAddon().addon !== undefined

/** Why the addon is (not) available, e.g. "addon not built: ... (run pnpm --filter @rlhf/kernels build)". */
export const nativeStatus = (): AddonStatus => loadAddon().status

/**
 * Sets the number of OpenBLAS threads (openblas_set_num_threads). One thread
 * per process is best for data-parallel training workers. No-op without the addon.
 */
export const setThreads = (n: number): void => {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setThreads: expected a positive integer, got ${n}`)
  loadAddon().addon?.setThreads(n)
}

/** Current OpenBLAS thread count, or 0 without the addon. */
export const getThreads = (): number => loadAddon().addon?.getThreads() ?? 0

/** The names of the kernels with a native implementation. */
export const nativeKernelNames = (): string[] => nativeConfigs().map((k) => k.kernelName)

const nativeConfigs = () => [
  ...matMulKernels(),
  ...elementwiseKernels(),
  ...softmaxKernels(),
  ...reduceKernels(),
  ...layoutKernels(),
  ...gatherKernels(),
  ...fusedKernels()
]

// A training step's intermediates are all released together at the end of its
// tidy, so the pool must hold a whole step's working set (about 420 MiB for the
// benchmark GPT at batch 16) or it thrashes; those bytes were live at the
// step's peak anyway.
const defaultPoolBytes = (): number => {
  const env = process.env["RLHF_KERNELS_POOL_MB"]
  const mb = env === undefined ? NaN : Number(env)
  if (Number.isFinite(mb) && mb >= 0) return mb * 1024 * 1024
  return Math.min(1024 * 1024 * 1024, Math.floor(totalmem() / 8))
}

/**
 * Registers the tfjs backend "native" when the addon loads: every kernel of
 * the cpu backend, with the native ones replacing theirs, plus the fused
 * kernels and their gradients. Returns false (and changes nothing) when the
 * addon is absent or disabled. The cpu backend itself is left untouched;
 * select the new one with `await tf.setBackend("native")`. Idempotent.
 */
export const registerNativeBackend = async (options: NativeOptions = {}): Promise<boolean> => {
  const { addon } = loadAddon()
  if (addon === undefined) return false
  if (tf.findBackendFactory(BACKEND) !== null) return true
  const maxPoolBytes = options.maxPoolBytes ?? defaultPoolBytes()
  tf.registerBackend(BACKEND, () => new NativeBackend(addon, maxPoolBytes), options.priority ?? 0)
  for (const config of tf.getKernelsForBackend("cpu")) {
    if (tf.getKernel(config.kernelName, BACKEND) === undefined) tf.registerKernel({ ...config, backendName: BACKEND })
  }
  for (const config of nativeConfigs()) {
    if (tf.getKernel(config.kernelName, BACKEND) !== undefined) tf.unregisterKernel(config.kernelName, BACKEND)
    tf.registerKernel(config)
  }
  for (const grad of fusedGradients()) tf.registerGradient(grad)
  tf.registerGradient(logSoftmaxGradient())
  tf.registerGradient(softmaxGradient(tf.getGradient(tf.Softmax)))
  return true
}

/** Buffer-pool counters of the registered native backend (undefined before it is created). */
export const poolStats = (): PoolStats | undefined => {
  const backend = tf.engine().registry[BACKEND]
  return backend instanceof NativeBackend ? backend.pool.stats() : undefined
}
