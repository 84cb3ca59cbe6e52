// 512x512 sgemm throughput: raw addon call vs tf.matMul on the "native" backend
// (which adds tfjs engine overhead and output allocation from the pool).
// Run: pnpm --filter @rlhf/kernels bench   (optionally with threads: ... bench 1)
import * as tf from "@tensorflow/tfjs-core"
import { loadAddon } from "../src/Addon.ts"
import { getThreads, registerNativeBackend, setThreads } from "../src/index.ts"

const n = 512
const flops = 2 * n * n * n

const time = (iters: number, f: () => void): number => {
  for (let i = 0; i < 5; i++) f() // warm-up (thread start, page faults)
  const t0 = performance.now()
  for (let i = 0; i < iters; i++) f()
  return (performance.now() - t0) / 1000 / iters
}

const main = async (): Promise<void> => {
  const { addon, status } = loadAddon()
  if (addon === undefined || !(await registerNativeBackend())) throw new Error(`native addon unavailable: ${status.loaded ? "" : status.reason}`)
  const threads = process.argv[2] === undefined ? undefined : Number(process.argv[2])
  if (threads !== undefined) setThreads(threads)
  await tf.setBackend("native")
  const a = new Float32Array(n * n).map(() => Math.random() - 0.5)
  const b = new Float32Array(n * n).map(() => Math.random() - 0.5)
  const c = new Float32Array(n * n)
  const raw = time(200, () => addon.matmul(a, b, c, 1, 1, 1, n, n, n, false, false))
  const ta = tf.tensor2d(a, [n, n]), tb = tf.tensor2d(b, [n, n])
  const viaTf = time(200, () => tf.matMul(ta, tb).dispose())
  console.log(`OpenBLAS threads: ${getThreads()}`)
  console.log(`raw addon sgemm 512x512:      ${(flops / raw / 1e9).toFixed(1)} GFLOP/s (${(raw * 1e3).toFixed(3)} ms)`)
  console.log(`tf.matMul on "native" 512x512: ${(flops / viaTf / 1e9).toFixed(1)} GFLOP/s (${(viaTf * 1e3).toFixed(3)} ms)`)
}

await main()
