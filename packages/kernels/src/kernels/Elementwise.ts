import * as tf from "@tensorflow/tfjs-core"
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs-core"
import { alloc, bool, f32, inputList, nativeKernel, output, sizeOf, typed } from "../Kernel.ts"
import type { KernelArgs } from "../Kernel.ts"

// Op codes shared with native/elementwise.cc.
const binaryOps: Record<string, number> = {
  [tf.Add]: 0,
  [tf.Sub]: 1,
  [tf.Multiply]: 2,
  [tf.RealDiv]: 3,
  [tf.Maximum]: 4,
  [tf.Minimum]: 5,
  [tf.SquaredDifference]: 6,
  [tf.Pow]: 7
}

const compareOps: Record<string, number> = {
  [tf.Greater]: 0,
  [tf.GreaterEqual]: 1,
  [tf.Less]: 2,
  [tf.LessEqual]: 3,
  [tf.Equal]: 4,
  [tf.NotEqual]: 5
}

const unaryOps: Record<string, number> = {
  [tf.Exp]: 0,
  [tf.Log]: 1,
  [tf.Tanh]: 2,
  [tf.Sqrt]: 3,
  [tf.Rsqrt]: 4,
  [tf.Neg]: 5,
  [tf.Square]: 6,
  [tf.Relu]: 7,
  [tf.Sigmoid]: 8,
  [tf.Abs]: 9,
  [tf.Reciprocal]: 10,
  [tf.Step]: 11,
  [tf.Relu6]: 12,
  [tf.Elu]: 13,
  [tf.Softplus]: 14,
  [tf.Floor]: 15,
  [tf.Ceil]: 16,
  [tf.Sign]: 17,
  [tf.LeakyRelu]: 18,
  [tf.Log1p]: 19,
  [tf.ClipByValue]: 20,
  [tf.Erf]: 21,
  [tf.Sin]: 22,
  [tf.Cos]: 23,
  [tf.Expm1]: 24
}

const binary = (name: string, op: number): KernelConfig =>
  nativeKernel(name, ({ inputs, backend }) => {
    const a = inputs["a"] as TensorInfo, b = inputs["b"] as TensorInfo
    const av = f32(backend, a), bv = f32(backend, b)
    if (av === undefined || bv === undefined) return undefined
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape)
    const out = backend.pool.f32(sizeOf(shape))
    backend.addon.binary(op, av, a.shape, bv, b.shape, out, shape)
    return output(backend, shape, "float32", out)
  })

const compare = (name: string, op: number): KernelConfig =>
  nativeKernel(name, ({ inputs, backend }) => {
    const a = inputs["a"] as TensorInfo, b = inputs["b"] as TensorInfo
    const av = f32(backend, a), bv = f32(backend, b)
    if (av === undefined || bv === undefined) return undefined
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape)
    const out = backend.pool.u8(sizeOf(shape))
    backend.addon.compare(op, av, a.shape, bv, b.shape, out, shape)
    return output(backend, shape, "bool", out)
  })

const unaryParams = (name: string, attrs: KernelArgs["attrs"]): [number, number] => {
  if (name === tf.Step || name === tf.LeakyRelu) return [Number(attrs["alpha"] ?? 0), 0]
  if (name === tf.ClipByValue) return [Number(attrs["clipValueMin"]), Number(attrs["clipValueMax"])]
  return [0, 0]
}

const unary = (name: string, op: number): KernelConfig =>
  nativeKernel(name, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo
    const xv = f32(backend, x)
    if (xv === undefined) return undefined
    const out = backend.pool.f32(xv.length)
    const [p, q] = unaryParams(name, attrs)
    backend.addon.unary(op, xv, out, xv.length, p, q)
    return output(backend, x.shape, "float32", out)
  })

/** Cast between float32 / int32 / bool; always materialises a typed array of the target type. */
const cast = (): KernelConfig =>
  nativeKernel(tf.Cast, ({ inputs, backend, attrs }) => {
    const x = inputs["x"] as TensorInfo
    const dtype = attrs["dtype"] as tf.DataType
    const xv = typed(backend, x)
    if (xv === undefined || dtype === x.dtype || (dtype !== "float32" && dtype !== "int32" && dtype !== "bool")) return undefined
    const out = alloc(backend, dtype, xv.length)
    backend.addon.cast(xv, out)
    return output(backend, x.shape, dtype, out)
  })

/** Select (tf.where): condition of the output's size, or a vector choosing rows. */
const select = (): KernelConfig =>
  nativeKernel(tf.Select, ({ inputs, backend }) => {
    const c = inputs["condition"] as TensorInfo, t = inputs["t"] as TensorInfo, e = inputs["e"] as TensorInfo
    const cv = bool(backend, c), tv = typed(backend, t), ev = typed(backend, e)
    if (cv === undefined || tv === undefined || ev === undefined || t.dtype !== e.dtype || tv.BYTES_PER_ELEMENT !== 4) return undefined
    const rowwise = c.shape.length === 1 && t.shape.length > 1
    const inner = rowwise ? sizeOf(t.shape.slice(1)) : 1
    if (cv.length * inner !== tv.length || ev.length !== tv.length) return undefined
    const out = backend.pool.like(tv, tv.length)
    backend.addon.select(cv, tv, ev, out, cv.length, inner)
    return output(backend, t.shape, t.dtype, out)
  })

const addN = (): KernelConfig =>
  nativeKernel(tf.AddN, ({ inputs, backend }) => {
    const list = inputList(inputs)
    const first = list[0]
    if (first === undefined) return undefined
    const values: Float32Array[] = []
    for (const t of list) {
      const v = f32(backend, t)
      if (v === undefined || v.length !== sizeOf(first.shape)) return undefined
      values.push(v)
    }
    const out = backend.pool.f32(sizeOf(first.shape))
    backend.addon.addN(values, out, out.length)
    return output(backend, first.shape, "float32", out)
  })

/** Native elementwise kernels: broadcasting binary ops, comparisons, unary ops, cast, select, addN. */
export const elementwiseKernels = (): KernelConfig[] => [
  ...Object.entries(binaryOps).map(([name, op]) => binary(name, op)),
  ...Object.entries(compareOps).map(([name, op]) => compare(name, op)),
  ...Object.entries(unaryOps).map(([name, op]) => unary(name, op)),
  cast(),
  select(),
  addN()
]
