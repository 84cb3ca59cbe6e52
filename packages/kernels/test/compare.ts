// Shared helpers for the parity tests: seeded inputs, running a computation on
// a named backend, and the relative error of norms.
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs" // registers every op's gradient (the tfjs-core Node bundle registers none)
import { registerNativeBackend } from "../src/index.ts"

/** Registers the native backend; fails with the build instruction when the addon is missing. */
export const ensureNative = async (): Promise<void> => {
  if (!(await registerNativeBackend())) {
    throw new Error("the native addon is not built: run `apt-get install -y libopenblas-dev && pnpm --filter @rlhf/kernels build`")
  }
}

/** Deterministic uniform values in [lo, hi) (mulberry32). */
export const uniform = (n: number, seed: number, lo = -1, hi = 1): Float32Array => {
  let s = seed >>> 0
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296)
  }
  return out
}

/** Deterministic integers in [0, hi). */
export const ints = (n: number, seed: number, hi: number): Int32Array => Int32Array.from(uniform(n, seed, 0, hi), (v) => Math.min(hi - 1, Math.floor(v)))

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1)

/** A float32 tensor of `shape` with seeded values in [lo, hi). */
export const rand = (shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor => tf.tensor(uniform(size(shape), seed, lo, hi), shape, "float32")

/** Runs `f` on `backend` and copies every output out (shape, dtype, values). */
export const on = async (backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Array<{ shape: number[]; dtype: string; values: number[] }>> => {
  await tf.setBackend(backend)
  const outs = tf.tidy(f)
  const list = Array.isArray(outs) ? outs : [outs]
  const copied = list.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }))
  tf.dispose(list)
  return copied
}

/** ||a - b|| / ||b|| (or ||a - b|| when b is all zeros). */
export const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0, den = 0
  for (let i = 0; i < b.length; i++) {
    const d = a[i]! - b[i]!
    num += d * d
    den += b[i]! * b[i]!
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den)
}

/** Outputs of `f` on cpu and native: equal shapes and dtypes, values within `tol` (0 = exact). */
export const expectParity = async (f: () => tf.Tensor | tf.Tensor[], tol: number, label = ""): Promise<number> => {
  const cpu = await on("cpu", f)
  const native = await on("native", f)
  if (cpu.length !== native.length) throw new Error(`${label}: ${native.length} outputs on native, ${cpu.length} on cpu`)
  let worst = 0
  cpu.forEach((c, i) => {
    const n = native[i]!
    if (JSON.stringify(c.shape) !== JSON.stringify(n.shape)) throw new Error(`${label}[${i}]: shape [${n.shape}] on native, [${c.shape}] on cpu`)
    if (c.dtype !== n.dtype) throw new Error(`${label}[${i}]: dtype ${n.dtype} on native, ${c.dtype} on cpu`)
    const err = relErr(n.values, c.values)
    if (!(err <= tol)) throw new Error(`${label}[${i}]: relative error ${err} exceeds ${tol}`)
    worst = Math.max(worst, err)
  })
  return worst
}

/** Runs `f` and asserts that `kernel` took its native path at least once and never fell back. */
export const expectNativePath = async <T>(kernel: string, f: () => Promise<T>): Promise<T> => {
  const { pathCounts } = await import("../src/index.ts")
  const before = { ...(pathCounts().get(kernel) ?? { native: 0, fallback: 0 }) }
  const result = await f()
  const after = pathCounts().get(kernel) ?? { native: 0, fallback: 0 }
  if (after.native <= before.native) throw new Error(`${kernel} never took its native path`)
  if (after.fallback !== before.fallback) throw new Error(`${kernel} fell back to the cpu kernel ${after.fallback - before.fallback} time(s)`)
  return result
}
