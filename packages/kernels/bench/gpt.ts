// Training and generation throughput of the benchmark GPT (vocab 512, d_model 128,
// 4 layers, 4 heads, ctx 128, batch 16, AdamW) on the "native" backend, with a
// per-kernel time profile of the training step.
// Run: node --import tsx bench/gpt.ts [steps] [--profile] [--threads=N] [--backend=cpu]
import * as tf from "@tensorflow/tfjs-core"
import { cpus, loadavg } from "node:os"
import { PerformanceObserver } from "node:perf_hooks"
import * as AdamW from "../../nn/src/AdamW.ts"
import * as Generate from "../../nn/src/Generate.ts"
import * as Gpt from "../../nn/src/Gpt.ts"
import * as Train from "../../nn/src/Train.ts"
import { getThreads, pathCounts, poolStats, registerNativeBackend, resetPathCounts, setThreads } from "../src/index.ts"

const args = process.argv.slice(2)
const steps = Number(args.find((a) => /^\d+$/.test(a)) ?? 10)
const profile = args.includes("--profile")
const backend = args.find((a) => a.startsWith("--backend="))?.slice("--backend=".length) ?? "native"
const threads = args.find((a) => a.startsWith("--threads="))?.slice("--threads=".length)
const config = { vocabSize: 512, dModel: 128, nLayers: 4, nHeads: 4, contextLength: 128 }
const batchSize = 16

/** Wraps every kernel of `backendName` to sum wall time per kernel name. */
const instrument = (backendName: string): Map<string, { calls: number; ms: number }> => {
  const totals = new Map<string, { calls: number; ms: number }>()
  for (const k of tf.getKernelsForBackend(backendName)) {
    const inner = k.kernelFunc
    const t = { calls: 0, ms: 0 }
    totals.set(k.kernelName, t)
    tf.unregisterKernel(k.kernelName, backendName)
    tf.registerKernel({
      ...k,
      kernelFunc: (p) => {
        const t0 = performance.now()
        const out = inner(p)
        t.ms += performance.now() - t0
        t.calls++
        return out
      }
    })
  }
  return totals
}

const printProfile = (totals: Map<string, { calls: number; ms: number }>, n: number, sec: number, unit: string): void => {
  const all = [...totals.values()].reduce((s, v) => s + v.ms, 0)
  console.log(`kernel time ${(all / n).toFixed(1)} ms/${unit} of ${((sec / n) * 1000).toFixed(1)}`)
  for (const [name, v] of [...totals].filter(([, v]) => v.calls > 0).sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
    const c = pathCounts().get(name)
    const path = c === undefined ? "cpu" : c.fallback > 0 ? `native ${c.native} / fallback ${c.fallback}` : "native"
    console.log(`${name.padEnd(28)} ${(v.calls / n).toFixed(1).padStart(6)} calls ${(v.ms / n).toFixed(2).padStart(8)} ms ${((100 * v.ms) / all).toFixed(1).padStart(5)}%  ${path}`)
  }
}

/** 512x512 sgemm GFLOP/s right now: says how busy the machine is (~185 on one idle core here). */
const sgemmRate = (): number => {
  const n = 512
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n])
  for (let i = 0; i < 3; i++) tf.matMul(a, b).dispose()
  const t0 = performance.now()
  for (let i = 0; i < 20; i++) tf.matMul(a, b).dispose()
  const sec = (performance.now() - t0) / 1000 / 20
  tf.dispose([a, b])
  return (2 * n ** 3) / sec / 1e9
}

const rng = (seed: number) => () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 4294967296)

const main = async (): Promise<void> => {
  if (backend === "native" && !(await registerNativeBackend())) throw new Error("native addon unavailable: run pnpm --filter @rlhf/kernels build")
  await tf.setBackend(backend)
  tf.env().set("PROD", true)
  if (threads !== undefined) setThreads(Number(threads))
  let gcs = 0, gcMs = 0
  new PerformanceObserver((list) => list.getEntries().forEach((e) => ((gcs += 1), (gcMs += e.duration)))).observe({ entryTypes: ["gc"] })
  const totals = profile ? instrument(backend) : undefined
  const model = Gpt.init(config, { seed: 1 })
  const opt = AdamW.make(model.params)
  const r = rng(7)
  const t = config.contextLength
  const makeBatch = (): Train.LmBatch => {
    const ids = Int32Array.from({ length: batchSize * t }, () => Math.floor(r() * config.vocabSize))
    const targets = Int32Array.from({ length: batchSize * t }, () => Math.floor(r() * config.vocabSize))
    return { ids: tf.tensor2d(ids, [batchSize, t], "int32"), targets: tf.tensor2d(targets, [batchSize, t], "int32"), lossMask: tf.ones([batchSize, t]), attentionMask: tf.ones([batchSize, t]) }
  }
  const step = () => {
    const batch = makeBatch()
    const res = Train.trainStep(model, opt, Train.lmBatchLoss, batch, { lr: 1e-3 })
    tf.dispose([batch.ids, batch.targets, batch.lossMask, batch.attentionMask])
    return res
  }
  for (let i = 0; i < 2; i++) step() // warm-up
  const rateBefore = sgemmRate()
  resetPathCounts()
  if (totals !== undefined) for (const v of totals.values()) (v.calls = 0), (v.ms = 0)
  gcs = 0, gcMs = 0
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  let loss = 0
  for (let i = 0; i < steps; i++) loss = step().loss
  const sec = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const rate = (rateBefore + sgemmRate()) / 2
  const cpuSec = (cpu.user + cpu.system) / 1e6
  console.log(`backend ${backend}, OpenBLAS threads ${getThreads()}, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores, 512x512 sgemm ${rate.toFixed(0)} GFLOP/s around the run`)
  // With one thread and a busy machine, CPU time is the better estimate of uncontended speed.
  console.log(`cpu time ${((cpuSec / steps) * 1000).toFixed(1)} ms/step -> ${((steps * batchSize * t) / cpuSec).toFixed(0)} tokens per CPU-second`)
  console.log(`train: ${steps} steps, ${((steps * batchSize * t) / sec).toFixed(0)} tokens/s, ${((sec / steps) * 1000).toFixed(1)} ms/step, loss ${loss.toFixed(3)}, ${gcs} GCs (${gcMs.toFixed(0)} ms), numTensors ${tf.memory().numTensors}`)
  const ps = poolStats()
  if (ps !== undefined) console.log(`pool: ${(ps.bytes / 2 ** 20).toFixed(1)} MiB in ${ps.buffers} buffers, ${ps.hits} hits, ${ps.misses} misses`)
  if (totals !== undefined) printProfile(totals, steps, sec, "step")
  // Generation: 16 prompts of 16 tokens, 112 new tokens each (fills the context), KV cache.
  const prompts = Array.from({ length: batchSize }, () => Int32Array.from({ length: 16 }, () => 1 + Math.floor(r() * (config.vocabSize - 1))))
  Generate.generate(model, prompts, { maxNewTokens: 8, seed: 1, stopToken: -1 }) // warm-up
  resetPathCounts()
  if (totals !== undefined) for (const v of totals.values()) (v.calls = 0), (v.ms = 0)
  const g0 = performance.now()
  const gen = Generate.generate(model, prompts, { maxNewTokens: t - 16, seed: 1, stopToken: -1 })
  const gsec = (performance.now() - g0) / 1000
  const produced = gen.tokens.reduce((s, x) => s + x.length, 0)
  console.log(`generate: ${produced} tokens in ${gsec.toFixed(2)} s, ${(produced / gsec).toFixed(0)} tokens/s (batch ${batchSize}, KV cache)`)
  if (totals !== undefined) printProfile(totals, t - 16, gsec, "token step")
  AdamW.dispose(opt)
  Gpt.dispose(model)
}

await main()
