import * as tf from "@tensorflow/tfjs-core"
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core"
import { f32, i32, nativeKernel, output, sizeOf, typed } from "../Kernel.ts"

/** GatherV2 with batchDims 0 (embedding lookups); out-of-range indices throw like the cpu kernel. */
const gather = (): KernelConfig =>
  nativeKernel(tf.GatherV2, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo, indices = inputs["indices"] as TensorInfo
    const xv = typed(backend, x), iv = i32(backend, indices)
    if (xv === undefined || iv === undefined || Number(attrs["batchDims"] ?? 0) !== 0) return undefined
    const axis = tf.util.parseAxisParam(attrs["axis"] as number, x.shape)[0]!
    const dim = x.shape[axis]!
    const outer = sizeOf(x.shape.slice(0, axis)), inner = sizeOf(x.shape.slice(axis + 1))
    const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)]
    const out = backend.pool.like(xv, sizeOf(shape))
    const bad = backend.addon.gather(xv, iv, out, outer, dim, inner, iv.length)
    if (bad >= 0) throw new Error(`GatherV2: the index value ${iv[bad]} is not in [0, ${dim - 1}]`)
    return output(backend, shape, x.dtype, out)
  })

/** UnsortedSegmentSum over a 1-D id vector (the gradient of gather): one pass instead of one per segment. */
const segmentSum = (): KernelConfig =>
  nativeKernel(tf.UnsortedSegmentSum, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo, ids = inputs["segmentIds"] as TensorInfo
    const xv = f32(backend, x), idv = i32(backend, ids)
    if (xv === undefined || idv === undefined || ids.shape.length !== 1 || x.shape.length < 1 || ids.shape[0] !== x.shape[0]) return undefined
    const numSegments = Number(attrs["numSegments"])
    const inner = sizeOf(x.shape.slice(1))
    const shape = [numSegments, ...x.shape.slice(1)]
    const out = backend.pool.f32(numSegments * inner)
    backend.addon.segmentSum(xv, idv, out, idv.length, inner, numSegments)
    return output(backend, shape, "float32", out)
  })

const oneHot = (): KernelConfig =>
  nativeKernel(tf.OneHot, ({ inputs, backend, attrs }) => {
    const indices = inputs["indices"] as TensorInfo
    const iv = i32(backend, indices)
    const dtype = (attrs["dtype"] ?? "int32") as tf.DataType
    if (iv === undefined || (dtype !== "float32" && dtype !== "int32")) return undefined
    const depth = Number(attrs["depth"])
    const n = iv.length * depth
    const out = dtype === "float32" ? backend.pool.f32(n) : backend.pool.i32(n)
    backend.addon.oneHot(iv, out, iv.length, depth, Number(attrs["onValue"] ?? 1), Number(attrs["offValue"] ?? 0))
    return output(backend, [...indices.shape, depth], dtype, out)
  })

/** Native index kernels: GatherV2, UnsortedSegmentSum, OneHot. */
export const gatherKernels = (): KernelConfig[] => [gather(), segmentSum(), oneHot()]
