import * as tf from "@tensorflow/tfjs-core"
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core"
import type { Pooled } from "../BufferPool.ts"
import { inputList, nativeKernel, output, sameData, sizeOf, typed } from "../Kernel.ts"

const transpose = (): KernelConfig =>
  nativeKernel(tf.Transpose, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo
    const xv = typed(backend, x)
    if (xv === undefined) return undefined
    const perm = attrs["perm"] as number[]
    const shape = perm.map((p) => x.shape[p]!)
    // The identity permutation (e.g. in gather's gradient) shares the data.
    if (perm.every((p, i) => p === i)) return sameData(backend, x, shape)
    const out = backend.pool.like(xv, xv.length)
    backend.addon.transpose(xv, x.shape, perm, out)
    return output(backend, shape, x.dtype, out)
  })

/** Concatenates equally-typed tensors of `shapes` along `axis` (rows of size inner per input). */
const concatAlong = (backend: Parameters<typeof output>[0], list: TensorInfo[], axis: number, outShape: number[]): TensorInfo | undefined => {
  const values: Pooled[] = []
  for (const t of list) {
    const v = typed(backend, t)
    if (v === undefined || t.dtype !== list[0]!.dtype) return undefined
    values.push(v)
  }
  const first = values[0]!
  const outer = sizeOf(outShape.slice(0, axis))
  const inners = list.map((t) => (outer === 0 ? 0 : sizeOf(t.shape) / outer))
  const out = backend.pool.like(first, sizeOf(outShape))
  backend.addon.concat(values, inners, outer, out)
  return output(backend, outShape, list[0]!.dtype, out)
}

const concat = (): KernelConfig =>
  nativeKernel(tf.Concat, ({ inputs, backend, attrs }) => {
    const all = inputList(inputs)
    if (all.length === 0) return undefined
    const axis = tf.util.parseAxisParam(attrs["axis"] as number, all[0]!.shape)[0]!
    tf.backend_util.assertParamsConsistent(all.map((t) => t.shape), axis)
    const outShape = tf.backend_util.computeOutShape(all.map((t) => t.shape), axis)
    const list = all.filter((t) => sizeOf(t.shape) > 0)
    if (list.length < 2 || sizeOf(outShape) === 0) return undefined // cpu: identity / empty
    return concatAlong(backend, list, axis, outShape)
  })

const pack = (): KernelConfig =>
  nativeKernel(tf.Pack, ({ inputs, backend, attrs }) => {
    const list = inputList(inputs)
    const first = list[0]
    if (first === undefined || list.length < 2) return undefined
    const rank = first.shape.length
    let axis = Number(attrs["axis"] ?? 0)
    if (axis < 0) axis += rank + 1
    for (const t of list) {
      tf.util.assertShapesMatch(first.shape, t.shape, "All tensors passed to stack must have matching shapes")
      tf.util.assert(first.dtype === t.dtype, () => "All tensors passed to stack must have matching dtypes")
    }
    const outShape = [...first.shape.slice(0, axis), list.length, ...first.shape.slice(axis)]
    return concatAlong(backend, list, axis, outShape)
  })

/** A one-element typed array of `like`'s type holding `value`. */
const scalarLike = (like: Pooled, value: number): Pooled =>
  like instanceof Float32Array ? Float32Array.of(value) : like instanceof Int32Array ? Int32Array.of(value) : Uint8Array.of(value)

const pad = (): KernelConfig =>
  nativeKernel(tf.PadV2, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo
    const xv = typed(backend, x)
    if (xv === undefined) return undefined
    const paddings = attrs["paddings"] as Array<[number, number]>
    const before = paddings.map((p) => p[0]), after = paddings.map((p) => p[1])
    const shape = x.shape.map((d, i) => d + before[i]! + after[i]!)
    const out = backend.pool.like(xv, sizeOf(shape))
    backend.addon.pad(xv, x.shape, before, after, scalarLike(xv, Number(attrs["constantValue"] ?? 0)), out)
    return output(backend, shape, x.dtype, out)
  })

/** Strided slices copy natively; contiguous ones stay zero-copy views (cpu kernel). */
const slice = (): KernelConfig =>
  nativeKernel(tf.Slice, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo
    const xv = typed(backend, x)
    if (xv === undefined) return undefined
    const [begin, size] = tf.slice_util.parseSliceParams(x, attrs["begin"] as number[], attrs["size"] as number[]) as [number[], number[]]
    tf.slice_util.assertParamsValid(x, begin, size)
    if (tf.slice_util.isSliceContinous(x.shape, begin, size)) return undefined
    const out = backend.pool.like(xv, sizeOf(size))
    backend.addon.slice(xv, x.shape, begin, size, out)
    return output(backend, size, x.dtype, out)
  })

/** SplitV: contiguous pieces stay zero-copy views, strided ones are copied natively. */
const split = (): KernelConfig =>
  nativeKernel(tf.SplitV, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo
    const xv = typed(backend, x)
    if (xv === undefined) return undefined
    const axis = tf.util.parseAxisParam(attrs["axis"] as number, x.shape)[0]!
    const sizes = tf.backend_util.prepareSplitSize(x, attrs["numOrSizeSplits"] as number[] | number, axis)
    const begin = x.shape.map(() => 0)
    return sizes.map((s) => {
      const size = x.shape.slice()
      size[axis] = s
      const start = begin.slice()
      begin[axis]! += s
      const n = sizeOf(size)
      if (tf.slice_util.isSliceContinous(x.shape, start, size)) {
        const offset = tf.slice_util.computeFlatOffset(start, tf.util.computeStrides(x.shape))
        return output(backend, size, x.dtype, xv.subarray(offset, offset + n))
      }
      const out = backend.pool.like(xv, n)
      backend.addon.slice(xv, x.shape, start, size, out)
      return output(backend, size, x.dtype, out)
    })
  })

const tile = (): KernelConfig =>
  nativeKernel(tf.Tile, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo
    const xv = typed(backend, x)
    const reps = attrs["reps"] as number[]
    if (xv === undefined || reps.length !== x.shape.length) return undefined
    const shape = x.shape.map((d, i) => d * reps[i]!)
    const out = backend.pool.like(xv, sizeOf(shape))
    backend.addon.tile(xv, x.shape, reps, out)
    return output(backend, shape, x.dtype, out)
  })

/** Native data-movement kernels: Transpose, Concat, Pack, PadV2, Slice, SplitV, Tile. */
export const layoutKernels = (): KernelConfig[] => [transpose(), concat(), pack(), pad(), slice(), split(), tile()]
