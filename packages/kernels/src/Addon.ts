import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

type F32 = Float32Array
type I32 = Int32Array
/** Any typed array whose element size the copy kernels support (1, 2, 4, 8 bytes). */
export type Elems = Float32Array | Int32Array | Uint8Array

/** The N-API addon's functions (see native/*.cc for the argument contracts). */
export interface NativeAddon {
  matmul(a: F32, b: F32, out: F32, batch: number, batchA: number, batchB: number, m: number, n: number, k: number, transA: boolean, transB: boolean): void
  setThreads(n: number): void
  getThreads(): number
  binary(op: number, a: F32, aShape: readonly number[], b: F32, bShape: readonly number[], out: F32, outShape: readonly number[]): void
  compare(op: number, a: F32, aShape: readonly number[], b: F32, bShape: readonly number[], out: Uint8Array, outShape: readonly number[]): void
  unary(op: number, x: F32, out: F32, n: number, p: number, q: number): void
  cast(x: Elems, out: Elems): void
  select(cond: Uint8Array, t: Elems, e: Elems, out: Elems, rows: number, inner: number): void
  addN(inputs: F32[], out: F32, n: number): void
  reduce(op: number, x: F32, shape: readonly number[], axes: readonly number[], out: F32): void
  argReduce(isMax: boolean, x: F32, outer: number, n: number, inner: number, out: I32): void
  softmax(x: F32, out: F32, rows: number, cols: number): void
  logSoftmax(x: F32, out: F32, rows: number, cols: number): void
  softmaxGrad(y: F32, dy: F32, dx: F32, rows: number, cols: number): void
  logSoftmaxGrad(logp: F32, dy: F32, dx: F32, rows: number, cols: number): void
  softmaxXent(logits: F32, labels: I32, loss: F32, rows: number, cols: number): void
  softmaxXentGrad(logits: F32, labels: I32, dy: F32, dx: F32, rows: number, cols: number): void
  transpose(x: Elems, shape: readonly number[], perm: readonly number[], out: Elems): void
  concat(inputs: Elems[], innerSizes: number[], outer: number, out: Elems): void
  pad(x: Elems, shape: readonly number[], before: number[], after: number[], fill: Elems, out: Elems): void
  slice(x: Elems, shape: readonly number[], begin: readonly number[], size: readonly number[], out: Elems): void
  tile(x: Elems, shape: readonly number[], reps: readonly number[], out: Elems): void
  gather(x: Elems, indices: I32, out: Elems, outer: number, dim: number, inner: number, nIdx: number): number
  segmentSum(x: F32, ids: I32, out: F32, n: number, inner: number, numSegments: number): void
  oneHot(indices: I32, out: F32 | I32, n: number, depth: number, on: number, off: number): void
  layerNorm(x: F32, gamma: F32, beta: F32, y: F32, rows: number, cols: number, eps: number): void
  layerNormGrad(dy: F32, x: F32, gamma: F32, dx: F32, dgamma: F32, dbeta: F32, rows: number, cols: number, eps: number): void
  gelu(x: F32, y: F32, n: number): void
  geluGrad(dy: F32, x: F32, dx: F32, n: number): void
  rankDescending(x: F32, rows: number, cols: number, order: I32): void
  gptForward(weights: readonly F32[], dims: readonly number[], kCache: F32, vCache: F32, capacity: number, ids: I32, positions: I32, keyMask: F32, batch: number, t: number, pastLen: number, logits: F32): void
}

/** Why the addon is or is not usable in this process. */
export type AddonStatus = { readonly loaded: true; readonly path: string } | { readonly loaded: false; readonly reason: string }

const defaultPath = fileURLToPath(new URL("../native/build/Release/rlhf_kernels.node", import.meta.url))
const cache = new Map<string, { addon: NativeAddon | undefined; status: AddonStatus }>()

/**
 * Loads the compiled addon from native/build/Release (or RLHF_KERNELS_ADDON). Never
 * throws: RLHF_KERNELS_DISABLE=1, a missing file or a failed dlopen all give
 * `undefined` plus a status saying why.
 */
export const loadAddon = (): { addon: NativeAddon | undefined; status: AddonStatus } => {
  const disabled = process.env["RLHF_KERNELS_DISABLE"] === "1"
  const path = process.env["RLHF_KERNELS_ADDON"] ?? defaultPath
  const key = `${disabled}|${path}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const result = tryLoad(disabled, path)
  cache.set(key, result)
  return result
}

const tryLoad = (disabled: boolean, path: string): { addon: NativeAddon | undefined; status: AddonStatus } => {
  if (disabled) return { addon: undefined, status: { loaded: false, reason: "disabled by RLHF_KERNELS_DISABLE=1" } }
  if (!existsSync(path)) {
    return { addon: undefined, status: { loaded: false, reason: `addon not built: ${path} is missing (run \`pnpm --filter @rlhf/kernels build\`)` } }
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon
    return { addon, status: { loaded: true, path } }
  } catch (error) {
    return { addon: undefined, status: { loaded: false, reason: `addon failed to load from ${path}: ${String(error)}` } }
  }
}
