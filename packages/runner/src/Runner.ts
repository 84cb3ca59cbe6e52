/**
 * Runs a pipeline: every ready node starts as soon as its inputs exist and resources allow;
 * cached nodes are reused, stale ones computed (in this process, a pooled worker thread or a
 * pooled worker process), and a failure skips only what depends on it.
 */
import * as os from "node:os"
import * as path from "node:path"
import { Pipeline, Stage } from "@rlhf/core"
import { Deferred, Effect, Schedule } from "effect"
import * as CacheKey from "./CacheKey.ts"
import { type Fingerprinter, fingerprinter } from "./CodeFingerprint.ts"
import { executeStage, type ExecuteResult } from "./ExecuteStage.ts"
import * as Lock from "./Lock.ts"
import type { NodeOutcome, Reporter } from "./Reporter.ts"
import { makePool, type ResourcePool } from "./Resources.ts"
import { CorruptObject, type Entry, type KeyParts, type Store, type StoredOutput } from "./Store.ts"
import { why } from "./Why.ts"
import { type Placement, workerCommand, WorkerPool } from "./WorkerPool.ts"

/** How to run. */
export interface RunOptions {
  readonly pipeline: Pipeline.Pipeline
  /** The pipeline's file, which workers load. */
  readonly pipelineFile: string
  readonly sets: ReadonlyArray<string>
  readonly store: Store
  readonly cwd: string
  readonly seed: number
  readonly cpuSlots: number
  /** GPU devices, or a function that finds them (called only when a node needs a GPU). */
  readonly gpus: ReadonlyArray<number> | (() => ReadonlyArray<number>)
  readonly requireGpu: boolean
  /** Rerun this node and everything downstream of it. */
  readonly from?: string | undefined
  /** Run only this node and what it needs. */
  readonly only?: string | undefined
  /** Rerun these nodes even when cached (downstream reruns only if their outputs change). */
  readonly force: ReadonlyArray<string>
  readonly reporter: Reporter
  readonly runId: string
}

/** A finished run. */
export interface RunSummary {
  readonly runId: string
  readonly stages: ReadonlyArray<NodeOutcome>
  readonly ok: boolean
}

type Done = { readonly ok: true; readonly outputs: Readonly<Record<string, StoredOutput>> } | { readonly ok: false; readonly reason: string }

const verified = (store: Store, key: string, warn: (m: string) => void): Entry | undefined => {
  const entry = store.getLiveEntry(key)
  if (entry === undefined) return undefined
  try {
    for (const o of Object.values(entry.outputs)) store.getObject(o.hash)
    return entry
  } catch (e) {
    if (!(e instanceof CorruptObject)) throw e
    warn(e.message)
    store.deleteEntry(key)
    return undefined
  }
}

const checkNode = (resolved: Pipeline.Resolved, id: string | undefined, flag: string) => {
  if (id !== undefined && !resolved.byId.has(id)) {
    throw new Error(`${flag} ${id}: no such node; nodes: ${resolved.nodes.map((n) => n.id).join(", ")}`)
  }
}

/** Resolves and runs a pipeline. */
export const run = (options: RunOptions) =>
  Effect.gen(function*() {
    const resolved = Pipeline.resolveSync(options.pipeline, options.sets)
    checkNode(resolved, options.from, "--from")
    checkNode(resolved, options.only, "--only")
    for (const f of options.force) checkNode(resolved, f, "--force")
    const selected = options.only === undefined ? undefined : Pipeline.upstreamOf(resolved, options.only)
    const forced = new Set([...options.force, ...(options.from === undefined ? [] : Pipeline.downstreamOf(resolved, options.from))])
    const pool = makePool(options.cpuSlots, options.gpus)
    const workers = new WorkerPool(workerCommand(options.pipelineFile))
    const done = new Map(resolved.nodes.map((n) => [n.id, Deferred.makeUnsafe<Done>()]))
    const outcomes = new Map<string, NodeOutcome>()
    const ctx: NodeContext = { options, resolved, pool, workers, forced, fingerprint: fingerprinter() }
    const runOne = (node: Pipeline.ResolvedNode) =>
      Effect.gen(function*() {
        // A node's time counts from when its inputs are ready, not from the start of the run.
        let start = Date.now()
        const finish = (outcome: Omit<NodeOutcome, "id" | "ms">, result: Done) =>
          Effect.gen(function*() {
            const full: NodeOutcome = { id: node.id, ms: Date.now() - start, ...outcome }
            outcomes.set(node.id, full)
            options.reporter.finish(full)
            yield* Deferred.succeed(done.get(node.id)!, result)
          })
        if (selected !== undefined && !selected.has(node.id)) {
          return yield* finish({ status: "skipped", key: null, reason: `not selected by --only ${options.only}` }, { ok: false, reason: "not selected" })
        }
        const inputs: Record<string, string> = {}
        for (const [name, ref] of Object.entries(node.inputs)) {
          const up = yield* Deferred.await(done.get(ref.node)!)
          if (!up.ok) {
            return yield* finish({ status: "skipped", key: null, reason: `upstream '${ref.node}' did not finish` }, { ok: false, reason: "upstream" })
          }
          inputs[name] = up.outputs[ref.output]!.hash
        }
        start = Date.now()
        const result = yield* computeNode(ctx, node, inputs).pipe(Effect.result)
        if (result._tag === "Success") {
          const { status, key, outputs } = result.success
          return yield* finish({ status, key }, { ok: true, outputs })
        }
        const reason = result.failure.message
        return yield* finish({ status: "failed", key: null, reason }, { ok: false, reason })
      })
    yield* Effect.forEach(resolved.nodes, runOne, { concurrency: "unbounded", discard: true }).pipe(
      Effect.ensuring(Effect.sync(() => workers.shutdown()))
    )
    const stages = resolved.nodes.map((n) => outcomes.get(n.id)!)
    return { runId: options.runId, stages, ok: stages.every((s) => s.status === "cached" || s.status === "ran" || s.reason?.startsWith("not selected") === true) } satisfies RunSummary
  })

interface NodeContext {
  readonly options: RunOptions
  readonly resolved: Pipeline.Resolved
  readonly pool: ResourcePool
  readonly workers: WorkerPool
  readonly forced: ReadonlySet<string>
  /** One per run: the nodes of a stage share one walk of its files. */
  readonly fingerprint: Fingerprinter
}

const computeNode = (ctx: NodeContext, node: Pipeline.ResolvedNode, inputs: Record<string, string>) =>
  Effect.gen(function*() {
    const { options } = ctx
    const { store, reporter } = options
    const parts: KeyParts = { ...(yield* Effect.try({ try: () => CacheKey.staticParts(node, options.cwd, options.seed, ctx.fingerprint), catch: (e) => e as Error })), inputs }
    const key = CacheKey.keyOf(parts)
    const policy = node.stage.cache ?? "default"
    const useCache = policy === "default" && !ctx.forced.has(node.id)
    const record = store.getNode(ctx.resolved.name, node.id)
    // Only a changed key is written: a cached rerun writes nothing.
    const remember = () => record?.key === key ? undefined : store.putNode(ctx.resolved.name, node.id, { key, parts, at: new Date().toISOString() })
    const hit = useCache ? verified(store, key, reporter.warn) : undefined
    if (hit !== undefined) {
      remember()
      return { status: "cached" as const, key, outputs: hit.outputs }
    }
    return yield* Effect.scoped(Effect.gen(function*() {
      yield* Lock.acquire(store.lockPath(key), () => reporter.log(node.id, `waiting: another runner is computing key ${key}`))
      // Another runner may have finished this key while we waited for the lock.
      const late = useCache ? verified(store, key, reporter.warn) : undefined
      if (late !== undefined) {
        remember()
        return { status: "cached" as const, key, outputs: late.outputs }
      }
      const device = yield* acquireResources(ctx, node)
      const reasons = ctx.forced.has(node.id) ? ["forced"] : record === undefined ? ["no entry (never ran)"] : record.key === key ? ["no entry in the store"] : why(record.parts, parts)
      reporter.start(node.id, { key, device, why: reasons })
      const startedAt = new Date()
      const result = yield* execute(ctx, node, inputs, device)
      const endedAt = new Date()
      const entry: Entry = {
        key, parts, outputs: result.outputs, node: node.id, pipeline: ctx.resolved.name,
        startedAt: startedAt.toISOString(), endedAt: endedAt.toISOString(), ms: endedAt.getTime() - startedAt.getTime(),
        lineage: { host: os.hostname(), pid: String(process.pid), device: device === null ? "cpu" : `gpu:${device}`, ...result.lineage }
      }
      if (policy !== "disable") store.putEntry(entry)
      remember()
      return { status: "ran" as const, key, outputs: result.outputs }
    }))
  })

const acquireResources = (ctx: NodeContext, node: Pipeline.ResolvedNode) =>
  Effect.gen(function*() {
    const res = Stage.resourcesOf(node.stage, node.params)
    let device: number | null = null
    if (res.gpu > 0) {
      if (ctx.pool.gpus.length === 0) {
        if (ctx.options.requireGpu) return yield* Effect.fail(new Error(`node '${node.id}' needs a GPU and none was found (--require-gpu); give devices with --gpus 0,1`))
        ctx.options.reporter.warn(`no GPU found: running GPU stage '${node.id}' on the CPU`)
      } else {
        device = res.shareGpu ? ctx.pool.sharedGpu() : yield* ctx.pool.gpu()
      }
    }
    yield* ctx.pool.cpu(res.cpu)
    return device
  })

/**
 * Where a node runs: in this process (undefined), a worker thread, or a worker process. A thread
 * stage that holds a GPU device runs in a process, the only place CUDA_VISIBLE_DEVICES can apply.
 */
const placementOf = (node: Pipeline.ResolvedNode, device: number | null): Placement | undefined => {
  const isolation = Stage.isolationOf(node.stage)
  if (isolation === "none") return undefined
  return isolation === "thread" && device === null ? { tier: "thread" } : { tier: "process", device }
}

const execute = (ctx: NodeContext, node: Pipeline.ResolvedNode, inputs: Record<string, string>, device: number | null) => {
  const { options } = ctx
  const request = {
    node: node.id, inputs, seed: options.seed, device, cwd: options.cwd,
    logFile: path.join(options.store.runDir(options.runId), `${node.id.replaceAll("/", "__")}.log`)
  }
  const hooks = {
    progress: (u: Parameters<typeof options.reporter.progress>[1]) => options.reporter.progress(node.id, u),
    log: (line: string) => options.reporter.log(node.id, line)
  }
  const timeoutMs = node.timeoutMs
  const placement = placementOf(node, device)
  const once: Effect.Effect<ExecuteResult, Error> = placement !== undefined
    ? ctx.workers.run({ pipeline: options.pipelineFile, sets: options.sets, storeDir: options.store.dir, params: node.params, request }, {
      placement, timeoutMs, onProgress: hooks.progress, onLog: hooks.log
    }).pipe(Effect.mapError((e) => e.message.startsWith("stage '") ? e : new Error(`stage '${node.stage.name}' (node '${node.id}') failed: ${e.message}`)))
    : executeStage(node, request, options.store, hooks).pipe(
      timeoutMs === undefined ? (e) => e : Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () => Effect.fail(new Error(`stage '${node.stage.name}' (node '${node.id}') timed out after ${timeoutMs} ms`))
      })
    )
  return once.pipe(Effect.retry(Schedule.recurs(node.retries)))
}
