import * as Kernels from "@rlhf/kernels"
import * as tf from "@tensorflow/tfjs-core"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import * as DataParallel from "../src/DataParallel.ts"
import * as Gpt from "../src/Gpt.ts"
import * as LmParallel from "../src/LmParallel.ts"
import * as Train from "../src/Train.ts"
import { availableBackends, maxAbsDiff, useBackend } from "./backends.ts"
import * as Faulty from "./fixtures/FaultyTasks.ts"

const config: Gpt.Config = { vocabSize: 48, dModel: 32, nLayers: 2, nHeads: 2, contextLength: 16 }
const lm = { lm: { config, head: "lm" as const } }
const lmPool = { workers: 2, models: lm, taskModules: [LmParallel.taskModule] }
const faultyPool = { ...lmPool, taskModules: [LmParallel.taskModule, Faulty.taskModule] }

// Seven SFT rows of uneven length and response share: the two shards (rows 0-2 and 3-6) hold very
// different numbers of loss tokens, so weighting the shards equally would give a wrong gradient.
const examples: Train.SftExample[] = Array.from({ length: 7 }, (_, i) => ({
  prompt: Int32Array.from({ length: 1 + ((i * 3) % 5) }, (_, j) => 3 + ((i * 7 + j) % 40)),
  response: Int32Array.from({ length: i < 3 ? 1 + i : 6 + (i % 3) }, (_, j) => 3 + ((i * 5 + j * 3) % 40))
}))

const norm = (xs: Iterable<Float32Array>) => Math.sqrt([...xs].reduce((s, x) => s + x.reduce((a, v) => a + v * v, 0), 0))

/** ‖a − b‖ / ‖b‖ over all parameters; throws when the parameter sets differ. */
const relativeError = (a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>): number => {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort())
  return norm([...b].map(([n, x]) => x.map((v, i) => v - a.get(n)![i]!))) / norm(b.values())
}

const inProcessGradients = (model: Gpt.Model, batch: Train.LmBatch) => {
  const names = new Map([...model.params].map(([n, v]) => [v.name, n]))
  const { value, grads } = tf.tidy(() => tf.variableGrads(() => Train.lmBatchLoss(model, batch), [...model.params.values()]))
  const out = { loss: value.dataSync()[0]!, grads: new Map(Object.entries(grads).map(([vn, g]) => [names.get(vn)!, g.dataSync() as Float32Array])) }
  tf.dispose([value, ...Object.values(grads)])
  return out
}

const disposeBatch = (b: Train.LmBatch) => tf.dispose([b.ids, b.targets, b.lossMask, b.attentionMask])

/** OS threads of this process (worker threads included). */
const threadCount = (): number => Number(/^Threads:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1])

const eventually = async (ok: () => boolean, ms = 10_000) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end;) await new Promise((r) => setTimeout(r, 50))
  return ok()
}

describe.each(availableBackends)("data-parallel gradients on %s", (backend) => {
  useBackend(backend)

  it("the gradient summed over two threads (this one and a worker) is the single-process gradient of the whole batch (relative error of the norm < 1e-5)", () => {
    const model = Gpt.init(config, { seed: 5 })
    const batch = Train.sftBatch(examples, config.contextLength)
    const shards = LmParallel.lmShards(batch, 2)
    expect(shards.map((s) => s.rows)).toEqual([3, 4])
    expect(Math.abs(shards[0]!.share - 0.5)).toBeGreaterThan(0.2) // unequal halves, see above
    const ref = inProcessGradients(model, batch)
    const pool = DataParallel.open(lmPool)
    try {
      const g = pool.gradients("lm", model, "lm", shards)
      expect(relativeError(g.grads, ref.grads)).toBeLessThan(1e-5)
      expect(Math.abs(g.loss - ref.loss) / ref.loss).toBeLessThan(1e-6)
      // A subset of parameters (frozen layers): only those come back, with the same values.
      const some = ["h.1.mlp.w_fc", "ln_f.gamma"]
      const sub = pool.gradients("lm", model, "lm", shards, some)
      expect([...sub.grads.keys()]).toEqual(some)
      expect(maxAbsDiff(sub.grads.get("ln_f.gamma")!, g.grads.get("ln_f.gamma")!)).toBe(0)
    } finally {
      pool.close()
      disposeBatch(batch)
      Gpt.dispose(model)
    }
  })
})

describe("data-parallel training", () => {
  const corpus = Int32Array.from({ length: 600 }, (_, i) => 3 + ((i * 7 + (i >> 3)) % 40))
  const train = (workers: number) =>
    DataParallel.withPool({ ...lmPool, workers }, (pool) =>
      Train.pretrainLm(corpus, config, { steps: 5, batchSize: 6, lr: 3e-3, seed: 7, ...(pool === undefined ? {} : { stepper: LmParallel.lmStepper(pool) }) }))
  const weights = (m: Gpt.Model) => [...m.params.values()].map((v) => v.dataSync() as Float32Array)

  it("same seed and W = 2: bit-identical weights; and the same training as in process (W = 1) to float32 rounding", () => {
    const before = tf.memory().numTensors
    const init = Gpt.init(config, { seed: 7 }) // what pretrainLm starts from
    const w0 = weights(init)
    Gpt.dispose(init)
    const a = train(2), b = train(2), one = train(1)
    const wa = weights(a.model), wb = weights(b.model), w1 = weights(one.model)
    const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength)
    wa.forEach((x, i) => expect(bytes(x).equals(bytes(wb[i]!))).toBe(true))
    expect(a.metrics.map((m) => [m.loss, m.gradNorm])).toEqual(b.metrics.map((m) => [m.loss, m.gradNorm]))
    // Five AdamW steps at lr 3e-3 move the weights by ~1e-2; rounding-level differences stay far below.
    expect(Math.max(...wa.map((x, i) => maxAbsDiff(x, w0[i]!)))).toBeGreaterThan(5e-3)
    expect(Math.max(...wa.map((x, i) => maxAbsDiff(x, w1[i]!)))).toBeLessThan(1e-4)
    a.metrics.forEach((m, i) => expect(Math.abs(m.loss - one.metrics[i]!.loss)).toBeLessThan(1e-4))
    for (const r of [a, b, one]) Gpt.dispose(r.model)
    expect(tf.memory().numTensors).toBe(before)
  })

  it("W = 1 runs in process: no pool, no threads", () => {
    const threads = threadCount()
    expect(DataParallel.withPool({ ...lmPool, workers: 1 }, (pool) => pool)).toBeUndefined()
    expect(threadCount()).toBe(threads)
  })

  it("runs jobs on each thread and returns their values in order; holds the BLAS thread count while open", () => {
    // The OpenBLAS / kernel thread count is per process (0 without the native addon).
    const threads = Kernels.getThreads()
    const pool = DataParallel.open({ ...faultyPool, threadsPerWorker: 1 })
    try {
      expect(Kernels.getThreads()).toBe(threads > 0 ? 1 : 0)
      expect(pool.run("echo", [5, 7], {})).toEqual([10, 14])
      expect(pool.run("echo", [9], {})).toEqual([18])
    } finally {
      pool.close()
    }
    expect(Kernels.getThreads()).toBe(threads)
    return pool.stopped()
  })
})

describe("data-parallel failures: a clear error, every worker stopped, nothing left waiting", () => {
  const model = Gpt.init(config, { seed: 1 })

  /** Opens a pool with the faulty tasks, expects `fail` to throw `message`, then checks every worker thread is gone. */
  const failsAndStops = async (fail: (pool: DataParallel.Pool) => unknown, message: RegExp, options: Partial<DataParallel.PoolOptions> = {}) => {
    const threads = threadCount()
    const pool = DataParallel.open({ ...faultyPool, ...options })
    expect(threadCount()).toBeGreaterThanOrEqual(threads + 1)
    expect(() => fail(pool)).toThrow(message)
    expect(() => pool.run("echo", [1], {})).toThrow(/^DataParallel: the pool is closed$/)
    await pool.stopped()
    expect(await eventually(() => threadCount() <= threads)).toBe(true)
  }

  const poisoned = (bad: number) => [0, 1].map((index) => ({ index, bad }))

  it("a shard loss that throws on the worker fails the step with the worker's message and closes the pool", () =>
    failsAndStops((pool) => pool.gradients("lm", model, "throwsInShard", poisoned(1)), /^data-parallel worker 2 of 2 failed: shard 1 has a poisoned row$/))

  it("a shard loss that throws on this thread fails the step, after the worker has answered, and closes the pool", () =>
    failsAndStops((pool) => pool.gradients("lm", model, "throwsInShard", poisoned(0)), /^data-parallel worker 1 of 2 \(the parent thread\) failed: shard 0 has a poisoned row$/))

  it("a worker that exits mid-request is reported with its exit code", () =>
    failsAndStops((pool) => pool.run("exitsWith", [0, 3], {}), /^data-parallel worker 2 of 2 exited \(code 3\) before answering$/))

  it("a worker that never answers is stopped after timeoutMs", () => {
    const t0 = performance.now()
    return failsAndStops((pool) => pool.run("spinsIf", [false, true], {}), /^data-parallel worker 2 of 2 gave no answer within 1500 ms$/, { timeoutMs: 1500 }).then(() =>
      expect(performance.now() - t0).toBeLessThan(60_000))
  })

  it("a bad task module fails the start; calls the pool cannot take fail without closing it", async () => {
    const noTasks = { url: new URL("./data.ts", import.meta.url).href, tasks: {} }
    expect(() => DataParallel.open({ ...lmPool, taskModules: [noTasks] })).toThrow(/^DataParallel: a worker thread failed to start: data-parallel worker 2 of 2 failed: .*data\.ts exports no `tasks`$/)
    expect(() => DataParallel.open({ ...lmPool, workers: 1 })).toThrow(/workers must be an integer ≥ 2, got 1/)
    expect(() => DataParallel.open({ ...lmPool, taskModules: [LmParallel.taskModule, LmParallel.taskModule] })).toThrow(/defines loss "lm", which another task module already defines/)
    const pool = DataParallel.open(lmPool)
    try {
      expect(() => pool.gradients("critic", model, "lm", [{}])).toThrow(/^DataParallel: no replica named "critic" \(the pool has lm\)$/)
      expect(() => pool.run("echo", [1, 2, 3], {})).toThrow(/^DataParallel: 3 shards for 2 threads \(need 1 to 2\)$/)
      expect(() => pool.gradients("lm", model, "nope", [{}])).toThrow(/^DataParallel: no shard loss named "nope" \(known: lm\)$/)
      expect(() => pool.run("echo", [1], {})).toThrow(/^DataParallel: no job named "echo" \(known: \)$/)
      // None of these closed the pool.
      const batch = Train.sftBatch(examples, config.contextLength)
      expect(pool.gradients("lm", model, "lm", LmParallel.lmShards(batch, 2)).loss).toBeGreaterThan(0)
      disposeBatch(batch)
    } finally {
      pool.close()
    }
    await pool.stopped()
  })
})
