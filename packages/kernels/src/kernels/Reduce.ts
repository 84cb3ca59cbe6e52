import * as tf from "@tensorflow/tfjs-core"
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core"
import { f32, nativeKernel, output, sizeOf } from "../Kernel.ts"

// Op codes shared with native/reduce.cc.
const reductions: ReadonlyArray<readonly [string, number, string]> = [
  [tf.Sum, 0, "axis"],
  [tf.Mean, 1, "axis"],
  [tf.Max, 2, "reductionIndices"],
  [tf.Min, 3, "axis"],
  [tf.Prod, 4, "axis"]
]

const reduce = (name: string, op: number, axisAttr: string): KernelConfig =>
  nativeKernel(name, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo
    const xv = f32(backend, x)
    if (xv === undefined) return undefined
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape)
    const keep = attrs["keepDims"] === true
    const shape: number[] = []
    x.shape.forEach((d, i) => {
      if (!axes.includes(i)) shape.push(d)
      else if (keep) shape.push(1)
    })
    const out = backend.pool.f32(sizeOf(shape))
    backend.addon.reduce(op, xv, x.shape, axes, out)
    return output(backend, shape, "float32", out)
  })

const argReduce = (name: string, isMax: boolean): KernelConfig =>
  nativeKernel(name, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo
    const xv = f32(backend, x)
    if (xv === undefined) return undefined
    const axis = tf.util.parseAxisParam(attrs["axis"] as number | number[], x.shape)[0]!
    const n = x.shape[axis]!
    if (n === 0) return undefined
    const outer = sizeOf(x.shape.slice(0, axis)), inner = sizeOf(x.shape.slice(axis + 1))
    const shape = x.shape.filter((_, i) => i !== axis)
    const out = backend.pool.i32(outer * inner)
    backend.addon.argReduce(isMax, xv, outer, n, inner, out)
    return output(backend, shape, "int32", out)
  })

/** Native reductions over any axes (Sum, Mean, Max, Min, Prod) and ArgMax / ArgMin. */
export const reduceKernels = (): KernelConfig[] => [
  ...reductions.map(([name, op, axisAttr]) => reduce(name, op, axisAttr)),
  argReduce(tf.ArgMax, true),
  argReduce(tf.ArgMin, false)
]
