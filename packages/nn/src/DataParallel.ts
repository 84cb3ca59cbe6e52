/**
 * Data-parallel training and batched work across worker threads.
 *
 * A pool holds W worker threads, each with replicas of the same named models on the same tensor
 * backend. A training step cuts the batch into W shards of rows (the caller says how, see
 * {@link shardRanges}); each worker computes the gradient of its shard's share of the batch loss
 * (the shard's loss weighted by its share of the batch's normaliser, e.g. of the masked tokens, so
 * the shares add up to the full-batch loss) and leaves it in shared memory. The parent adds the
 * W gradients in worker order (fixed, so a fixed W is deterministic), clips, applies AdamW to its
 * own (master) copy of the model and publishes the new weights to shared memory, from where
 * every worker reloads them before its next request. Up to float32 summation order, the summed
 * gradient is the single-process gradient of the whole batch.
 *
 * The same pool runs other sharded work (jobs), such as generating a shard of a rollout's prompts.
 * Calls are synchronous (see SyncWorker): loops keep their shape. W = 1 needs no pool
 * ({@link withPool} runs the body in process).
 *
 * Workers load the built-in LM loss (LmParallel.ts) and the task modules named at open: modules
 * exporting `tasks` ({@link WorkerTasks}) whose losses and jobs run inside the workers.
 */
import * as Kernels from "@rlhf/kernels"
import * as tf from "@tensorflow/tfjs-core"
import { availableParallelism } from "node:os"
import * as AdamW from "./AdamW.ts"
import * as Gpt from "./Gpt.ts"
import * as SyncWorker from "./SyncWorker.ts"

/** A model as a replica needs it: architecture and head. */
export interface ReplicaSpec {
  readonly config: Gpt.Config
  readonly head: Gpt.Head
}

/** What worker-side code sees: the worker's replicas by name. */
export interface WorkerContext {
  readonly models: ReadonlyMap<string, Gpt.Model>
}

/** What a shard loss sees: the replicas, and the one whose gradient is taken. */
export interface LossContext extends WorkerContext {
  readonly model: Gpt.Model
}

/**
 * A loss on one shard, run inside a worker: returns the shard's share of the batch loss (shares
 * add up to the batch loss). Tensors handed to `report` come back to the parent as arrays.
 */
export type ShardLoss<S = never> = (ctx: LossContext, shard: S, report: (x: tf.Tensor) => void) => tf.Scalar

/** A job on one shard, run inside a worker; returns a structured-cloneable value. */
export type ShardJob<P = never> = (ctx: WorkerContext, payload: P) => SyncWorker.Reply

/** What a task module exports as `tasks`. */
export interface WorkerTasks {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly losses?: Readonly<Record<string, ShardLoss<any>>>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly jobs?: Readonly<Record<string, ShardJob<any>>>
}

/** Options of {@link open}. */
export interface PoolOptions {
  /** Worker threads (at least 2). */
  readonly workers: number
  /** The models every worker holds a replica of, by name. */
  readonly models: Readonly<Record<string, ReplicaSpec>>
  /** File URLs of modules exporting `tasks` (besides the built-in "lm" loss). */
  readonly taskModules?: ReadonlyArray<string>
  /** BLAS and kernel threads while workers compute (default max(1, floor(cores / workers))). */
  readonly threadsPerWorker?: number
  /** Fail a worker that takes longer than this to answer (default: wait as long as it lives). */
  readonly timeoutMs?: number
}

/** Settings of one {@link Pool.step}. */
export interface StepOptions {
  readonly lr: number
  readonly maxGradNorm: number
  /** Parameters to train (default all); the others keep their values. */
  readonly params?: ReadonlyArray<string>
}

/** What a step reports: the batch loss, the gradient norm before clipping and each shard's reports. */
export interface StepResult {
  readonly loss: number
  readonly gradNorm: number
  /** reports[shard][k]: the k-th tensor the shard's loss reported. */
  readonly reports: ReadonlyArray<ReadonlyArray<Float32Array>>
}

/** Summed shard gradients by parameter name (only parameters the loss reached), the batch loss and each shard's reports. */
export interface Gradients {
  readonly grads: ReadonlyMap<string, Float32Array>
  readonly loss: number
  readonly reports: ReadonlyArray<ReadonlyArray<Float32Array>>
}

/** A pool of workers with model replicas. */
export interface Pool {
  readonly size: number
  /**
   * One optimiser step of `model` (the master copy of replica `name`) on `shards` (at most one
   * per worker) with loss `loss`: summed shard gradients, global-norm clipping, AdamW; the new
   * weights are published to the workers.
   */
  readonly step: (name: string, model: Gpt.Model, opt: AdamW.Optimizer, loss: string, shards: ReadonlyArray<unknown>, o: StepOptions) => StepResult
  /** The summed shard gradients of `loss` w.r.t. `params` (default all) of `model`, without a step. */
  readonly gradients: (name: string, model: Gpt.Model, loss: string, shards: ReadonlyArray<unknown>, params?: ReadonlyArray<string>) => Gradients
  /** Runs job `job` on each payload (at most one per worker) and returns the values in order; `models` are published first. */
  readonly run: (job: string, payloads: ReadonlyArray<unknown>, models: Readonly<Record<string, Gpt.Model>>) => unknown[]
  /** Copies `model`'s weights to replica `name` (done automatically by step, and by run for the models it names). */
  readonly publish: (name: string, model: Gpt.Model) => void
  /** Stops the workers and restores the thread count (idempotent). A failed call closes the pool too. */
  readonly close: () => void
  /** Settles once every worker thread has exited (after close). */
  readonly stopped: () => Promise<void>
}

/** Row ranges [start, end) of `n` rows cut into at most `parts` contiguous, near-equal shards (none empty). */
export const shardRanges = (n: number, parts: number): Array<[number, number]> => {
  const k = Math.max(1, Math.min(parts, n))
  return Array.from({ length: k }, (_, i) => [Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)])
}

/** Parameter layout of a replica in shared memory: name, offset and size, in Gpt.paramShapes order. */
export const layout = (spec: ReplicaSpec): Array<{ name: string; offset: number; size: number }> => {
  let offset = 0
  return Gpt.paramShapes(spec.config, spec.head).map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1)
    const entry = { name, offset, size }
    offset += size
    return entry
  })
}

/** What the parent sends a worker at start-up. */
export interface InitRequest {
  readonly type: "init"
  readonly backend: string
  readonly models: ReadonlyArray<{ name: string; spec: ReplicaSpec; weights: SharedArrayBuffer; grads: SharedArrayBuffer }>
  readonly taskModules: ReadonlyArray<string>
}

/** A gradient request. */
export interface GradRequest {
  readonly type: "grad"
  readonly model: string
  readonly loss: string
  readonly shard: unknown
  readonly params: ReadonlyArray<string> | undefined
  readonly versions: Readonly<Record<string, number>>
}

/** A job request. */
export interface JobRequest {
  readonly type: "job"
  readonly job: string
  readonly payload: unknown
  readonly versions: Readonly<Record<string, number>>
}

/** What a worker answers a gradient request with (the gradient itself is in shared memory). */
export interface GradAnswer {
  readonly loss: number
  readonly reports: Float32Array[]
  /** The requested parameters the loss reached (the others have no gradient, as in tf.variableGrads). */
  readonly reached: string[]
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * Starts `workers` threads with replicas of `models` on the current tensor backend; blocks until
 * all are ready. Close it when done (see {@link withPool}).
 */
export const open = (o: PoolOptions): Pool => {
  if (!Number.isInteger(o.workers) || o.workers < 2) throw new Error(`DataParallel.open: workers must be an integer ≥ 2, got ${o.workers} (1 runs in process without a pool)`)
  const w = o.workers
  const threads = o.threadsPerWorker ?? Math.max(1, Math.floor(availableParallelism() / w))
  const mainThreads = Kernels.getThreads()
  const replicas = new Map(Object.entries(o.models).map(([name, spec]) => {
    const lay = layout(spec)
    const total = lay.reduce((n, p) => n + p.size, 0)
    const weights = new SharedArrayBuffer(total * 4)
    const grads = Array.from({ length: w }, () => new SharedArrayBuffer(total * 4))
    return [name, { spec, layout: lay, weights, grads, version: 0, published: undefined as Gpt.Model | undefined }]
  }))
  const workers: SyncWorker.SyncWorker[] = []
  let closed: Promise<void> | undefined
  const close = () => {
    if (closed !== undefined) return
    closed = Promise.all(workers.map((worker) => worker.terminate())).then(() => undefined)
    if (mainThreads > 0) Kernels.setThreads(mainThreads)
  }
  // A call the pool cannot take fails without touching the workers.
  const usable = (shards: number) => {
    if (closed !== undefined) throw new Error("DataParallel: the pool is closed")
    if (shards < 1 || shards > w) throw new Error(`DataParallel: ${shards} shards for ${w} workers (need 1 to ${w})`)
  }
  // Any failure once workers are involved: every worker stops (none is left computing or holding
  // the process), then the error.
  const failing = <A>(body: () => A): A => {
    try {
      return body()
    } catch (e) {
      close()
      throw e
    }
  }
  // All workers compute at once with `threads` each; the parent alone gets its own count back.
  const across = <A>(requests: ReadonlyArray<unknown>): A[] => {
    if (mainThreads > 0) Kernels.setThreads(threads)
    try {
      requests.forEach((r, i) => workers[i]!.post(r))
      // Wait for all, even after a failure, so none is still computing when the pool closes.
      const settled = requests.map((_, i) => {
        try {
          return { ok: true as const, value: workers[i]!.wait(o.timeoutMs) as A }
        } catch (e) {
          return { ok: false as const, error: e }
        }
      })
      const failed = settled.find((s) => !s.ok)
      if (failed !== undefined && !failed.ok) throw failed.error
      return settled.map((s) => (s as { value: A }).value)
    } finally {
      if (mainThreads > 0) Kernels.setThreads(mainThreads)
    }
  }

  const replica = (name: string) => {
    const r = replicas.get(name)
    if (r === undefined) throw new Error(`DataParallel: no replica named "${name}" (the pool has ${[...replicas.keys()].join(", ")})`)
    return r
  }
  const publish = (name: string, model: Gpt.Model) => {
    const r = replica(name)
    const view = new Float32Array(r.weights)
    for (const p of r.layout) {
      const v = model.params.get(p.name)
      if (v === undefined || v.size !== p.size) throw new Error(`DataParallel.publish: model for "${name}" has no parameter ${p.name} of ${p.size} values`)
      view.set(v.dataSync() as Float32Array, p.offset)
    }
    r.version++, (r.published = model)
  }
  const versions = () => Object.fromEntries([...replicas].map(([n, r]) => [n, r.version]))

  const gradients: Pool["gradients"] = (name, model, loss, shards, params) => {
    usable(shards.length)
    const r = replica(name)
    return failing(() => {
      if (r.published !== model) publish(name, model)
      const answers = across<GradAnswer>(shards.map((shard) => ({ type: "grad", model: name, loss, shard, params, versions: versions() } satisfies GradRequest)))
      // As in process: a parameter the loss does not reach gets no gradient, so no update (not even decay).
      const reached = new Set(answers.flatMap((a) => a.reached))
      const views = r.grads.slice(0, answers.length).map((g) => new Float32Array(g))
      const grads = new Map<string, Float32Array>()
      for (const p of r.layout) {
        if (!reached.has(p.name)) continue
        // Worker order, one float32 rounding per addition: the same W gives the same bits.
        const sum = views[0]!.slice(p.offset, p.offset + p.size)
        for (let k = 1; k < views.length; k++) {
          const g = views[k]!
          for (let i = 0; i < p.size; i++) sum[i] += g[p.offset + i]!
        }
        grads.set(p.name, sum)
      }
      return { grads, loss: answers.reduce((s, a) => s + a.loss, 0), reports: answers.map((a) => a.reports) }
    })
  }

  const step: Pool["step"] = (name, model, opt, loss, shards, so) => {
    usable(shards.length)
    replica(name)
    return failing(() => {
      const g = gradients(name, model, loss, shards, so.params)
      const grads = new Map([...g.grads].map(([n, values]) => [n, tf.tensor(values, model.params.get(n)!.shape, "float32")]))
      const gradNorm = tf.tidy(() => {
        const clipped = AdamW.clipByGlobalNorm(grads, so.maxGradNorm)
        AdamW.apply(opt, model.params, clipped.grads, so.lr)
        return clipped.norm.dataSync()[0]!
      })
      tf.dispose([...grads.values()])
      publish(name, model)
      return { loss: g.loss, gradNorm, reports: g.reports }
    })
  }

  const run: Pool["run"] = (job, payloads, models) => {
    usable(payloads.length)
    for (const name of Object.keys(models)) replica(name)
    return failing(() => {
      for (const [name, model] of Object.entries(models)) if (replica(name).published !== model) publish(name, model)
      return across(payloads.map((payload) => ({ type: "job", job, payload, versions: versions() } satisfies JobRequest)))
    })
  }

  try {
    for (let i = 0; i < w; i++) workers.push(SyncWorker.spawn(new URL("./DataParallelWorker.ts", import.meta.url), { index: i }, `data-parallel worker ${i + 1} of ${w}`))
    const init = (i: number): InitRequest => ({
      type: "init",
      backend: tf.getBackend(),
      models: [...replicas].map(([name, r]) => ({ name, spec: r.spec, weights: r.weights, grads: r.grads[i]! })),
      taskModules: o.taskModules ?? []
    })
    workers.forEach((worker, i) => worker.post(init(i)))
    const errors = workers.map((worker) => {
      try {
        worker.wait()
        return undefined
      } catch (e) {
        return e
      }
    })
    const failed = errors.find((e) => e !== undefined)
    if (failed !== undefined) throw new Error(`DataParallel: starting ${w} workers failed: ${messageOf(failed)}`, { cause: failed })
  } catch (e) {
    close()
    throw e
  }
  return { size: w, gradients, step, run, publish, close, stopped: () => closed ?? Promise.reject(new Error("DataParallel.stopped: the pool is still open; close it first")) }
}

/**
 * Runs `body` with a pool of `o.workers` workers, closed afterwards whatever happens; with one
 * worker (or fewer) `body` gets undefined and runs in process.
 */
export const withPool = <A>(o: PoolOptions, body: (pool: Pool | undefined) => A): A => {
  if (o.workers <= 1) return body(undefined)
  const pool = open(o)
  try {
    return body(pool)
  } finally {
    pool.close()
  }
}

/** Adds up scalar shares that each shard reported: totals[k] = Σ over shards of reports[shard][k][0]. */
export const sumReports = (reports: ReadonlyArray<ReadonlyArray<Float32Array>>): number[] =>
  (reports[0] ?? []).map((_, k) => reports.reduce((s, r) => s + r[k]![0]!, 0))

/** Concatenates what each shard reported as its k-th tensor, in shard order. */
export const concatReports = (reports: ReadonlyArray<ReadonlyArray<Float32Array>>, k: number): Float32Array => {
  const parts = reports.map((r) => r[k]!)
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) out.set(p, at), (at += p.length)
  return out
}
