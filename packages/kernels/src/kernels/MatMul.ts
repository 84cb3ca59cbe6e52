import * as tf from "@tensorflow/tfjs-core"
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core"
import { f32, nativeKernel, output, sizeOf } from "../Kernel.ts"
import type { NativeBackend } from "../NativeBackend.ts"

/** [batch dims..., m, n] output of a @ b, or undefined when the batch dims need general broadcasting. */
const matmul = (backend: NativeBackend, a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean): TensorInfo | undefined => {
  const av = f32(backend, a), bv = f32(backend, b)
  if (av === undefined || bv === undefined || a.shape.length < 2 || b.shape.length < 2) return undefined
  const ra = a.shape.length, rb = b.shape.length
  const m = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!
  const k = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!
  const kb = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!
  const n = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!
  if (k !== kb) {
    throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transA} and transposeB=${transB} must match.`)
  }
  const batchA = sizeOf(a.shape.slice(0, -2)), batchB = sizeOf(b.shape.slice(0, -2))
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
  const batch = Math.max(batchA, batchB)
  if (sizeOf(outer) !== batch) return undefined // e.g. [2,1] x [1,3]: leave to the cpu kernel
  const shape = [...outer, m, n]
  const out = backend.pool.f32(batch * m * n)
  backend.addon.matmul(av, bv, out, batch, batchA, batchB, m, n, k, transA, transB)
  return output(backend, shape, "float32", out)
}

const batchMatMul = (): KernelConfig =>
  nativeKernel(tf.BatchMatMul, ({ inputs, backend, attrs }) =>
    matmul(backend, inputs["a"] as TensorInfo, inputs["b"] as TensorInfo, attrs["transposeA"] === true, attrs["transposeB"] === true)
  )

// Activations of _FusedMatMul done natively (unary op codes of native/elementwise.cc).
const activations: Record<string, number | undefined> = { linear: undefined, relu: 7, sigmoid: 8, relu6: 12, elu: 13 }

/** _FusedMatMul: matmul + broadcast bias + activation (prelu / leakyrelu go to the cpu kernel). */
const fusedMatMul = (): KernelConfig =>
  nativeKernel(tf._FusedMatMul, ({ inputs, backend, attrs }) => {
    const activation = String(attrs["activation"] ?? "linear")
    if (!(activation in activations) || inputs["preluActivationWeights"] !== undefined) return undefined
    const bias = inputs["bias"] as TensorInfo | undefined
    const biasV = bias === undefined ? undefined : f32(backend, bias)
    if (bias !== undefined && biasV === undefined) return undefined
    const prod = matmul(backend, inputs["a"] as TensorInfo, inputs["b"] as TensorInfo, attrs["transposeA"] === true, attrs["transposeB"] === true)
    if (prod === undefined) return undefined
    let result = prod
    if (bias !== undefined && biasV !== undefined) {
      const shape = tf.broadcast_util.assertAndGetBroadcastShape(prod.shape, bias.shape)
      const sum = backend.pool.f32(sizeOf(shape))
      backend.addon.binary(0, f32(backend, prod)!, prod.shape, biasV, bias.shape, sum, shape)
      backend.disposeIntermediateTensorInfo(prod)
      result = output(backend, shape, "float32", sum)
    }
    const op = activations[activation]
    if (op === undefined) return result
    const x = f32(backend, result)!
    const act = backend.pool.f32(x.length)
    backend.addon.unary(op, x, act, x.length, 0, 0)
    backend.disposeIntermediateTensorInfo(result)
    return output(backend, result.shape, "float32", act)
  })

/** Native matrix multiply kernels (OpenBLAS sgemm). */
export const matMulKernels = (): KernelConfig[] => [batchMatMul(), fusedMatMul()]
