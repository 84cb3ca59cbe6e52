/**
 * Data-parallel training and batched work across threads.
 *
 * A pool of W computes with the calling (parent) thread and W − 1 worker threads, each worker
 * holding replicas of the same named models on the same tensor backend. A training step cuts the
 * batch into at most W shards of rows (the caller says how, see {@link shardRanges}): the parent
 * takes the first on its own (master) model, worker k the (k+1)-th on its replica. Each computes
 * the gradient of its shard's share of the batch loss (the shard's loss weighted by its share of
 * the batch's normaliser, e.g. of the masked tokens, so the shares add up to the full-batch loss);
 * workers leave theirs in shared memory. The parent adds the gradients in shard order (fixed, so
 * a fixed W gives the same bits), clips, applies AdamW to the master and publishes the new weights
 * to shared memory, from where every worker reloads them before its next request. Up to float32
 * summation order, the summed gradient is the single-process gradient of the whole batch.
 *
 * The same pool runs other sharded work (jobs), such as generating a shard of a rollout's prompts.
 * Calls are synchronous (see SyncWorker): loops keep their shape. W = 1 needs no pool
 * ({@link withPool} runs the body in process).
 *
 * Losses and jobs come from task modules ({@link TaskModule}): the workers load each by its URL,
 * the parent uses the same `tasks` directly.
 *
 * Threads: OpenBLAS and the kernels' fork-join pool are one per process, so while the pool is
 * open the thread count is max(1, ⌊cores / W⌋) for everyone, the parent's work between steps
 * included (its own count comes back at close). With more than one thread each, the fused LayerNorm gradient's partial sums
 * depend on which thread wins the shared fork-join pool, so bit-identical reruns are guaranteed
 * with one thread per worker (W ≥ cores, as on a 2-core machine with W = 2).
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

/** A task module's losses and jobs (what it exports as `tasks`). */
export interface WorkerTasks {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly losses?: Readonly<Record<string, ShardLoss<any>>>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly jobs?: Readonly<Record<string, ShardJob<any>>>
}

/** A module of tasks: its file URL (workers load it with require) and its `tasks` (the parent uses them directly). */
export interface TaskModule {
  readonly url: string
  readonly tasks: WorkerTasks
}

/** Options of {@link open}. */
export interface PoolOptions {
  /** Threads that compute: the parent and workers − 1 worker threads (at least 2). */
  readonly workers: number
  /** The models every worker holds a replica of, by name. */
  readonly models: Readonly<Record<string, ReplicaSpec>>
  /** Where the losses and jobs come from (e.g. LmParallel.taskModule). */
  readonly taskModules: ReadonlyArray<TaskModule>
  /** BLAS and kernel threads while the pool is open (default max(1, floor(cores / workers))). */
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
   * per thread) with loss `loss`: summed shard gradients, global-norm clipping, AdamW; the workers
   * get the new weights before they next compute.
   */
  readonly step: (name: string, model: Gpt.Model, opt: AdamW.Optimizer, loss: string, shards: ReadonlyArray<unknown>, o: StepOptions) => StepResult
  /** The summed shard gradients of `loss` w.r.t. `params` (default all) of `model`, without a step. */
  readonly gradients: (name: string, model: Gpt.Model, loss: string, shards: ReadonlyArray<unknown>, params?: ReadonlyArray<string>) => Gradients
  /** Runs job `job` on each payload (at most one per thread) and returns the values in order; `models` (by replica name) are what the job sees. */
  readonly run: (job: string, payloads: ReadonlyArray<unknown>, models: Readonly<Record<string, Gpt.Model>>) => unknown[]
  /** Copies `model`'s weights to replica `name` now; step and run do it when the model changed through step or is new to them (call this after changing it otherwise). */
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
  /** URLs of the task modules. */
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

/** Losses and jobs of several task modules by name; a name defined twice is an error. */
export const mergeTasks = (modules: ReadonlyArray<{ from: string; tasks: WorkerTasks }>) => {
  const losses = new Map<string, ShardLoss<unknown>>(), jobs = new Map<string, ShardJob<unknown>>()
  for (const { from, tasks } of modules) {
    for (const [kind, source, target] of [["loss", tasks.losses, losses], ["job", tasks.jobs, jobs]] as const) {
      for (const [name, fn] of Object.entries(source ?? {})) {
        if (target.has(name)) throw new Error(`${from} defines ${kind} "${name}", which another task module already defines`)
        ;(target as Map<string, unknown>).set(name, fn)
      }
    }
  }
  return { losses, jobs }
}

/** One shard's loss, the gradients of the parameters `names` it reached, and its reports (as arrays). */
export interface ShardGradients {
  readonly loss: number
  readonly grads: Map<string, Float32Array>
  readonly reports: Float32Array[]
}

/** Gradients of a shard loss w.r.t. parameters `names` of `ctx.model` (parent and workers alike); frees every tensor. */
export const shardGradients = (ctx: LossContext, names: ReadonlyArray<string>, loss: ShardLoss<unknown>, shard: unknown): ShardGradients => {
  const vars = names.map((n) => {
    const v = ctx.model.params.get(n)
    if (v === undefined) throw new Error(`the model has no parameter ${n}`)
    return v
  })
  const nameOf = new Map(vars.map((v, i) => [v.name, names[i]!]))
  const reported: tf.Tensor[] = []
  const { value, grads } = tf.tidy(() => tf.variableGrads(() => loss(ctx, shard, (x) => void reported.push(tf.keep(x))), vars))
  try {
    return {
      loss: value.dataSync()[0]!,
      grads: new Map(Object.entries(grads).map(([vn, g]) => [nameOf.get(vn)!, g.dataSync() as Float32Array])),
      reports: reported.map((x) => Float32Array.from(x.dataSync() as Float32Array))
    }
  } finally {
    tf.dispose([value, ...Object.values(grads), ...new Set(reported)])
  }
}

/**
 * Starts a pool of `workers` (the parent and workers − 1 threads with replicas of `models` on the
 * current tensor backend); blocks until all are ready. Close it when done (see {@link withPool}).
 */
export const open = (o: PoolOptions): Pool => {
  if (!Number.isInteger(o.workers) || o.workers < 2) throw new Error(`DataParallel.open: workers must be an integer ≥ 2, got ${o.workers} (1 runs in process without a pool)`)
  const w = o.workers
  const threads = o.threadsPerWorker ?? Math.max(1, Math.floor(availableParallelism() / w))
  const mainThreads = Kernels.getThreads()
  const { losses, jobs } = mergeTasks(o.taskModules.map((m) => ({ from: m.url, tasks: m.tasks })))
  const replicas = new Map(Object.entries(o.models).map(([name, spec]) => {
    const lay = layout(spec)
    const total = lay.reduce((n, p) => n + p.size, 0)
    const weights = new SharedArrayBuffer(total * 4)
    const grads = Array.from({ length: w - 1 }, () => new SharedArrayBuffer(total * 4))
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
    if (shards < 1 || shards > w) throw new Error(`DataParallel: ${shards} shards for ${w} threads (need 1 to ${w})`)
  }
  const known = <F>(table: Map<string, F>, kind: string, name: string): F => {
    const f = table.get(name)
    if (f === undefined) throw new Error(`DataParallel: no ${kind} named "${name}" (known: ${[...table.keys()].join(", ")})`)
    return f
  }
  // Any failure once threads are involved: every worker stops (none is left computing or holding
  // the process), then the error.
  const failing = <A>(body: () => A): A => {
    try {
      return body()
    } catch (e) {
      close()
      throw e
    }
  }
  // Shard 0 here while workers take shards 1..; waits for every worker, even after a failure,
  // so none is still computing when the pool closes.
  const across = <A, B>(count: number, request: (i: number) => unknown, local: () => A): [A, B[]] => {
    for (let i = 1; i < count; i++) workers[i - 1]!.post(request(i))
    let first: { ok: true; value: A } | { ok: false; error: unknown }
    try {
      first = { ok: true, value: local() }
    } catch (e) {
      first = { ok: false, error: new Error(`data-parallel worker 1 of ${w} (the parent thread) failed: ${messageOf(e)}`, { cause: e }) }
    }
    const rest = Array.from({ length: count - 1 }, (_, i) => {
      try {
        return { ok: true as const, value: workers[i]!.wait(o.timeoutMs) as B }
      } catch (e) {
        return { ok: false as const, error: e }
      }
    })
    if (!first.ok) throw first.error
    const failed = rest.find((s) => !s.ok)
    if (failed !== undefined && !failed.ok) throw failed.error
    return [first.value, rest.map((s) => (s as { value: B }).value)]
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
  // The parent's view of the models: the latest it published, `extra` over them.
  const parentModels = (extra: Readonly<Record<string, Gpt.Model>>) =>
    new Map<string, Gpt.Model>([...[...replicas].flatMap(([n, r]) => (r.published === undefined ? [] : [[n, r.published] as const])), ...Object.entries(extra)])

  const gradients: Pool["gradients"] = (name, model, loss, shards, params) => {
    usable(shards.length)
    const r = replica(name)
    const fn = known(losses, "shard loss", loss)
    return failing(() => {
      if (shards.length > 1 && r.published !== model) publish(name, model)
      const names = params ?? r.layout.map((p) => p.name)
      const request = (i: number): GradRequest => ({ type: "grad", model: name, loss, shard: shards[i], params, versions: versions() })
      const [own, answers] = across<ShardGradients, GradAnswer>(shards.length, request, () =>
        shardGradients({ models: parentModels({ [name]: model }), model }, names, fn, shards[0]))
      // As in process: a parameter the loss does not reach gets no gradient, so no update (not even decay).
      const reached = new Set([...own.grads.keys(), ...answers.flatMap((a) => a.reached)])
      const views = r.grads.slice(0, answers.length).map((g) => new Float32Array(g))
      const grads = new Map<string, Float32Array>()
      for (const p of r.layout) {
        if (!reached.has(p.name)) continue
        // Shard order, one float32 rounding per addition: the same W gives the same bits.
        const sum = own.grads.get(p.name) ?? new Float32Array(p.size)
        for (const g of views) for (let i = 0; i < p.size; i++) sum[i] += g[p.offset + i]!
        grads.set(p.name, sum)
      }
      return { grads, loss: answers.reduce((s, a) => s + a.loss, own.loss), reports: [own.reports, ...answers.map((a) => a.reports)] }
    })
  }

  const step: Pool["step"] = (name, model, opt, loss, shards, so) => {
    const g = gradients(name, model, loss, shards, so.params)
    return failing(() => {
      const grads = new Map([...g.grads].map(([n, values]) => [n, tf.tensor(values, model.params.get(n)!.shape, "float32")]))
      const gradNorm = tf.tidy(() => {
        const clipped = AdamW.clipByGlobalNorm(grads, so.maxGradNorm)
        AdamW.apply(opt, model.params, clipped.grads, so.lr)
        return clipped.norm.dataSync()[0]!
      })
      tf.dispose([...grads.values()])
      replica(name).published = undefined // changed: the workers get it before they next compute
      return { loss: g.loss, gradNorm, reports: g.reports }
    })
  }

  const run: Pool["run"] = (job, payloads, models) => {
    usable(payloads.length)
    for (const name of Object.keys(models)) replica(name)
    const fn = known(jobs, "job", job)
    return failing(() => {
      if (payloads.length > 1) for (const [name, model] of Object.entries(models)) if (replica(name).published !== model) publish(name, model)
      const request = (i: number): JobRequest => ({ type: "job", job, payload: payloads[i], versions: versions() })
      const [own, rest] = across<unknown, unknown>(payloads.length, request, () => fn({ models: parentModels(models) }, payloads[0]).value)
      return [own, ...rest]
    })
  }

  try {
    if (mainThreads > 0) Kernels.setThreads(threads)
    for (let i = 0; i < w - 1; i++) workers.push(SyncWorker.spawn(new URL("./DataParallelWorker.ts", import.meta.url), { index: i + 1 }, `data-parallel worker ${i + 2} of ${w}`))
    const init = (i: number): InitRequest => ({
      type: "init",
      backend: tf.getBackend(),
      models: [...replicas].map(([name, r]) => ({ name, spec: r.spec, weights: r.weights, grads: r.grads[i]! })),
      taskModules: o.taskModules.map((m) => m.url)
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
    if (failed !== undefined) throw new Error(`DataParallel: a worker thread failed to start: ${messageOf(failed)}`, { cause: failed })
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
