import { getKernel } from "@tensorflow/tfjs-core"
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from "@tensorflow/tfjs-core"
import type { Pooled } from "./BufferPool.ts"
import type { NativeBackend } from "./NativeBackend.ts"

/** What a native kernel receives. */
export interface KernelArgs {
  readonly inputs: NamedTensorInfoMap
  readonly backend: NativeBackend
  readonly attrs: NamedAttrMap
}

/** A native fast path; `undefined` means "not handled here, run the cpu kernel". */
export type FastPath = (args: KernelArgs) => TensorInfo | TensorInfo[] | undefined

/** Name of the tfjs backend the native kernels are registered for. */
export const BACKEND = "native"

/** How often a kernel took its native path and how often it fell back to the cpu kernel. */
export interface PathCounts {
  native: number
  fallback: number
}

const counts = new Map<string, PathCounts>()

/** Per-kernel native / fallback call counts since the process started (or the last reset). */
export const pathCounts = (): ReadonlyMap<string, Readonly<PathCounts>> => counts

/** Zeroes the counts. */
export const resetPathCounts = (): void => {
  for (const c of counts.values()) (c.native = 0), (c.fallback = 0)
}

/**
 * A kernel config for the native backend: the fast path when it accepts the
 * inputs (dtype, layout), otherwise the cpu backend's kernel for that name.
 */
export const nativeKernel = (kernelName: string, fast: FastPath): KernelConfig => {
  let cpu: KernelConfig | undefined
  const count: PathCounts = counts.get(kernelName) ?? { native: 0, fallback: 0 }
  counts.set(kernelName, count)
  const kernelFunc: KernelFunc = (params) => {
    const args: KernelArgs = { inputs: params.inputs, backend: params.backend as NativeBackend, attrs: params.attrs ?? {} }
    const out = fast(args)
    if (out !== undefined) {
      count.native++
      return out
    }
    count.fallback++
    cpu ??= getKernel(kernelName, "cpu")
    if (cpu === undefined) throw new Error(`${kernelName}: inputs not supported natively (float32 expected) and there is no cpu kernel to fall back to`)
    return cpu.kernelFunc(params)
  }
  return { kernelName, backendName: BACKEND, kernelFunc }
}

/** The input tensors of a kernel whose inputs are passed as an array (Pack, Concat, AddN). */
export const inputList = (inputs: NamedTensorInfoMap): TensorInfo[] => Object.values(inputs).filter((t): t is TensorInfo => t !== undefined)

const stored = (b: NativeBackend, t: TensorInfo): unknown => b.data.get(t.dataId)?.values

/** Float32 values of `t`, or undefined when it is not a plain float32 tensor. */
export const f32 = (b: NativeBackend, t: TensorInfo): Float32Array | undefined => {
  const v = stored(b, t)
  return t.dtype === "float32" && v instanceof Float32Array ? v : undefined
}

/** Int32 values of `t`, or undefined. */
export const i32 = (b: NativeBackend, t: TensorInfo): Int32Array | undefined => {
  const v = stored(b, t)
  return t.dtype === "int32" && v instanceof Int32Array ? v : undefined
}

/** Bool values of `t`, or undefined. */
export const bool = (b: NativeBackend, t: TensorInfo): Uint8Array | undefined => {
  const v = stored(b, t)
  return t.dtype === "bool" && v instanceof Uint8Array ? v : undefined
}

/**
 * Values of a float32 / int32 / bool tensor whose typed array matches its
 * dtype (the cpu backend sometimes keeps e.g. an Int32Array under float32
 * after a cast; those go to the cpu kernels).
 */
export const typed = (b: NativeBackend, t: TensorInfo): Pooled | undefined => f32(b, t) ?? i32(b, t) ?? bool(b, t)

/** A fresh (pooled) buffer for a tensor of `dtype` with `n` elements. */
export const alloc = (b: NativeBackend, dtype: DataType, n: number): Pooled =>
  dtype === "float32" ? b.pool.f32(n) : dtype === "int32" ? b.pool.i32(n) : b.pool.u8(n)

/** Wraps computed values as the kernel's output. */
export const output = (b: NativeBackend, shape: number[], dtype: DataType, values: Pooled): TensorInfo =>
  b.makeTensorInfo(shape, dtype, values)

/** Product of dims. */
export const sizeOf = (shape: readonly number[]): number => {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Returns the input itself as the output (refcounted, like the cpu Identity kernel). */
export const sameData = (b: NativeBackend, t: TensorInfo, shape: number[] = t.shape): TensorInfo => {
  b.incRef(t.dataId)
  return { dataId: t.dataId, shape, dtype: t.dtype }
}
