/**
 * Data-parallel training benchmark: a small pretraining config (vocab 256, d_model 64, 2 layers,
 * 2 heads, context 64, batch 16) trained for `--steps` steps in process (W = 1) and on W worker
 * threads, alternating W = 1 and W = 2 runs `--reps` times so load from other processes hits
 * both alike. Prints, per run, training tokens/s over the steps after the first (the pool's
 * start-up and the first step, which pays for kernel set-up, are left out), the process's CPU seconds per wall second and per 1,000 tokens
 * (all threads), and the load average;
 * the last line is one JSON object: median tokens/s of each, their ratio (the speed-up) and the
 * ratio of each W = 1 / W = 2 pair.
 *
 *   pnpm bench:parallel                      # W = 1 vs W = 2
 *   pnpm bench:parallel --workers=3 --steps=40 --reps=3
 *   pnpm bench:parallel --w1-threads=1       # W = 1 on one BLAS/kernel thread (scaling from one thread)
 *   pnpm bench:parallel --large              # the model benchmark's config (d_model 128, 4 layers, context 128)
 */
import * as Kernels from "@rlhf/kernels"
import * as os from "node:os"
import * as DataParallel from "@rlhf/nn/DataParallel"
import type * as Gpt from "@rlhf/nn/Gpt"
import * as LmParallel from "@rlhf/nn/LmParallel"
import { resolveBackend } from "@rlhf/nn/TensorBackend"
import * as Train from "@rlhf/nn/Train"
import { arg, benchGpt, median, uniform } from "./BenchArgs.ts"

// --large: the model benchmark's config (bench/model.bench.ts), 8× the compute per token.
const config: Gpt.Config = process.argv.includes("--large")
  ? benchGpt
  : { vocabSize: 256, dModel: 64, nLayers: 2, nHeads: 2, contextLength: 64 }
const batchSize = 16
const steps = Number(arg("steps") ?? 30)
const reps = Number(arg("reps") ?? 2)
const workers = Number(arg("workers") ?? 2)
const w1Threads = arg("w1-threads") === undefined ? undefined : Number(arg("w1-threads"))

const r = uniform(11)
const corpus = Int32Array.from({ length: 50_000 }, () => Math.floor(r() * config.vocabSize))

interface Run {
  readonly workers: number
  readonly tokensPerSec: number
  readonly startSeconds: number
  readonly cpuPerWall: number
  /** Process CPU milliseconds (all threads) per 1,000 training tokens. */
  readonly cpuMsPer1k: number
  readonly load: number
}

const once = (w: number): Run => {
  const defaultThreads = Kernels.getThreads()
  if (w === 1 && w1Threads !== undefined) Kernels.setThreads(w1Threads)
  const t0 = performance.now()
  const run = DataParallel.withPool({ workers: w, models: { lm: { config, head: "lm" } }, taskModules: [LmParallel.taskModule] }, (pool) => {
    const ready = performance.now()
    // CPU and wall time from the end of the first step (which pays for kernel set-up) to the last.
    let cpu0 = process.cpuUsage(), wall0 = performance.now()
    const onProgress = (m: Train.StepMetrics) => void (m.step === 0 && ((cpu0 = process.cpuUsage()), (wall0 = performance.now())))
    const { model, metrics } = Train.pretrainLm(corpus, config, { steps, batchSize, lr: 1e-3, seed: 1, onProgress, ...(pool === undefined ? {} : { stepper: LmParallel.lmStepper(pool) }) })
    const cpu = process.cpuUsage(cpu0)
    const wall = (performance.now() - wall0) / 1000
    for (const v of model.params.values()) v.dispose()
    const timed = metrics.slice(1)
    const tokens = timed.reduce((s, m) => s + m.tokens, 0)
    const cpuMs = (cpu.user + cpu.system) / 1e3
    return { tokensPerSec: tokens / wall, startSeconds: (ready - t0) / 1000, cpuPerWall: cpuMs / 1e3 / wall, cpuMsPer1k: cpuMs / (tokens / 1000) }
  })
  if (defaultThreads > 0) Kernels.setThreads(defaultThreads)
  return { workers: w, ...run, load: os.loadavg()[0]! }
}

const backend = await resolveBackend()
console.log(`backend ${backend.name}, ${os.availableParallelism()} cores, d_model ${config.dModel} × ${config.nLayers} layers, ${steps} steps of ${batchSize}×${config.contextLength} tokens, W = 1 (${w1Threads ?? Kernels.getThreads()} threads) vs ${workers}`)
const runs: Run[] = []
for (let i = 0; i < reps; i++) {
  for (const w of [1, workers]) {
    const run = once(w)
    runs.push(run)
    console.log(`W=${w}: ${run.tokensPerSec.toFixed(0)} tokens/s, pool start ${run.startSeconds.toFixed(1)} s, ${run.cpuPerWall.toFixed(2)} CPU-s per s, ${run.cpuMsPer1k.toFixed(0)} CPU-ms per 1k tokens, load ${run.load.toFixed(1)}`)
  }
}
const of = (w: number) => runs.filter((x) => x.workers === w)
const w1 = median(of(1).map((x) => x.tokensPerSec)), wn = median(of(workers).map((x) => x.tokensPerSec))
console.log(JSON.stringify({
  backend: backend.name,
  workers,
  tokens_per_s_w1: Math.round(w1),
  tokens_per_s_wn: Math.round(wn),
  speedup: Number((wn / w1).toFixed(2)),
  pair_speedups: Array.from({ length: reps }, (_, i) => Number((runs[2 * i + 1]!.tokensPerSec / runs[2 * i]!.tokensPerSec).toFixed(2))),
  cpu_per_wall_w1: Number(median(of(1).map((x) => x.cpuPerWall)).toFixed(2)),
  cpu_per_wall_wn: Number(median(of(workers).map((x) => x.cpuPerWall)).toFixed(2)),
  cpu_ms_per_1k_tokens_w1: Math.round(median(of(1).map((x) => x.cpuMsPer1k))),
  cpu_ms_per_1k_tokens_wn: Math.round(median(of(workers).map((x) => x.cpuMsPer1k))),
  pool_start_s: Number(median(of(workers).map((x) => x.startSeconds)).toFixed(1)),
  load: Number(median(runs.map((x) => x.load)).toFixed(1))
}))
