/**
 * Kernel-provider seam: the few operations worth fusing, each dispatched to a fused kernel
 * when the active backend has one registered, else composed from stock tfjs ops.
 *
 * CONTRACT for fused kernels (implemented by @rlhf/kernels, registered with
 * `tf.registerKernel` for its backend, plus `tf.registerGradient` for each):
 *
 * - "RlhfLayerNorm"
 *     inputs { x: float32 [..., D], gamma: float32 [D], beta: float32 [D] }, attrs { eps: number }
 *     output y: float32, shape of x:
 *       y = (x - mean) / sqrt(var + eps) * gamma + beta, mean and biased variance over the last axis.
 *     gradient: for x, gamma and beta (gamma/beta gradients summed over all leading axes).
 * - "RlhfGelu"
 *     inputs { x: float32 [...] }, attrs {}
 *     output y: float32, shape of x: y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (tanh approximation).
 *     gradient: for x.
 * - "RlhfSoftmaxCrossEntropy"
 *     inputs { logits: float32 [N, V], labels: int32 [N] }, attrs {}
 *     output loss: float32 [N], loss[n] = logsumexp(logits[n, :]) - logits[n, labels[n]].
 *     gradient: for logits only: (softmax(logits) - onehot(labels)) * dy[:, None]; labels get none
 *     (return zeros or omit; they are never differentiated).
 *
 * Ops look the kernel up with `tf.getKernel(name, tf.getBackend())` on every call, so a backend
 * registered after this module loads is picked up, and a backend without the kernel keeps working.
 */
import * as tf from "@tensorflow/tfjs-core"
// The Node bundle of tfjs-core registers no gradients; the union package registers them all.
import "@tensorflow/tfjs"

/** Kernel names of the fused ops (see the contract above). */
export const KernelNames = {
  layerNorm: "RlhfLayerNorm",
  gelu: "RlhfGelu",
  softmaxCrossEntropy: "RlhfSoftmaxCrossEntropy"
} as const

const hasKernel = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined

/**
 * Float32 one-hot rows for int32 `indices`. Built as int32 then cast: tfjs-backend-wasm 4.22
 * returns all zeros for `tf.oneHot(..., "float32")`.
 */
export const oneHot = (indices: tf.Tensor, depth: number): tf.Tensor =>
  tf.tidy(() => tf.cast(tf.oneHot(indices as tf.Tensor1D, depth), "float32"))

/** Layer normalisation over the last axis. */
export const layerNorm = <T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): T => {
  if (hasKernel(KernelNames.layerNorm)) {
    return tf.engine().runKernel(KernelNames.layerNorm, { x, gamma, beta }, { eps }) as T
  }
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true)
    const centred = tf.sub(x, mean)
    const variance = tf.mean(tf.square(centred), -1, true)
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gamma), beta) as T
  })
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI)

/** GELU, tanh approximation (as GPT-2). */
export const gelu = <T extends tf.Tensor>(x: T): T => {
  if (hasKernel(KernelNames.gelu)) return tf.engine().runKernel(KernelNames.gelu, { x }, {}) as T
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), SQRT_2_OVER_PI)
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as T
  })
}

/** Per-row cross entropy of `logits` [N, V] against int32 `labels` [N]: returns [N]. */
export const softmaxCrossEntropy = (logits: tf.Tensor2D, labels: tf.Tensor): tf.Tensor1D => {
  if (hasKernel(KernelNames.softmaxCrossEntropy)) {
    return tf.engine().runKernel(KernelNames.softmaxCrossEntropy, { logits, labels }, {}) as tf.Tensor1D
  }
  // Custom gradient: the stock logSumExp gradient also differentiates through its max (Max grad,
  // Equal, Cast ...) although that contribution is zero.
  const xent = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, y, save] = args as [tf.Tensor2D, tf.Tensor, tf.GradSaveFunc]
    save([x, y])
    return {
      value: tf.sub(tf.logSumExp(x, -1), tf.sum(tf.mul(x, oneHot(y, x.shape[1])), -1)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor2D, tf.Tensor]
        const dx = tf.mul(tf.sub(tf.softmax(sx), oneHot(sy, sx.shape[1])), tf.expandDims(dy, 1)) // [N, V]
        return [dx, tf.zeros(sy.shape)]
      }
    }
  })
  return xent(logits, labels) as tf.Tensor1D
}

/**
 * 2-D product a [M, K] @ b [K, N]. The gradient uses explicit transposes instead of matMul's
 * transpose flags: tfjs-backend-wasm runs only un-flagged 2-D products through XNNPACK (flagged
 * ones take a naive loop; ~3x slower for a linear layer's backward pass).
 */
export const matMul = (a: tf.Tensor, b: tf.Tensor): tf.Tensor2D => {
  const product = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc]
    save([x, w])
    return {
      value: tf.matMul(x, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D]
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dy as tf.Tensor2D)]
      }
    }
  })
  return product(a, b) as tf.Tensor2D
}

/**
 * Embedding lookup `table[ids]` ([V, D] x int32 [...] -> [..., D]).
 * The gradient is onehot(ids)^T @ dy (one matMul) rather than the stock gather gradient, which
 * needs UnsortedSegmentSum: missing on wasm and ~100x slower than this matMul on cpu.
 */
export const embedding = (table: tf.Tensor, ids: tf.Tensor): tf.Tensor => {
  const [vocab, dim] = table.shape as [number, number]
  // ids go in as an input (not a closure) so the tape keeps them alive until backprop.
  const lookup = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [t, i, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc]
    save([i])
    return {
      value: tf.gather(t, i),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const flatIds = tf.reshape(saved[0]!, [-1]) // [N]
        const flatDy = tf.reshape(dy, [-1, dim]) // [N, D]
        const dTable = tf.matMul(tf.transpose(oneHot(flatIds, vocab)), flatDy) // [V, D] (un-flagged: see matMul)
        return [dTable, tf.zeros(saved[0]!.shape)] // ids are not differentiable
      }
    }
  })
  return lookup(table, ids) as tf.Tensor
}
