/**
 * The worker side of DataParallel (the entry module of each worker thread): replicas of the
 * pool's models on the parent's tensor backend, reloaded from shared memory whenever the parent
 * has published new weights; shard gradients written to this worker's shared gradient buffer;
 * jobs run and answered.
 *
 * Everything here is loaded with require() (tsx's CommonJS hooks, see SyncWorker), so the
 * backends are required too: an import() would load the ES module build of tfjs-core beside the
 * CommonJS one, a second engine that the models would not use.
 */
import * as Kernels from "@rlhf/kernels"
import * as tf from "@tensorflow/tfjs-core"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as DataParallel from "./DataParallel.ts"
import * as Gpt from "./Gpt.ts"
import * as SyncWorker from "./SyncWorker.ts"

const requireHere = createRequire(import.meta.url)

// Optional backends (tfjs-node) resolve from the application, as TensorBackend does.
const requireBackend = (spec: string): unknown => {
  try {
    return requireHere(spec)
  } catch {
    return createRequire(pathToFileURL(`${process.cwd()}/`).href)(spec)
  }
}

const useBackend = async (name: string): Promise<void> => {
  if (name === "native") {
    if (!(await Kernels.registerNativeBackend())) throw new Error(`the native backend is not available in the worker: ${JSON.stringify(Kernels.nativeStatus())}`)
  } else if (name === "wasm") {
    const wasm = requireBackend("@tensorflow/tfjs-backend-wasm") as { setThreadsCount: (n: number) => void }
    if (tf.findBackend("wasm") === null) wasm.setThreadsCount(1)
  } else if (name === "tensorflow") {
    requireBackend("@tensorflow/tfjs-node")
  } else if (name === "cpu") {
    tf.env().set("PROD", true) // as TensorBackend: no "install tfjs-node" banner
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend "${name}" failed to initialise in the worker`)
}

interface Replica {
  readonly model: Gpt.Model
  readonly layout: ReturnType<typeof DataParallel.layout>
  readonly weights: Float32Array
  readonly grads: Float32Array
  version: number
}

const replicas = new Map<string, Replica>()
const models = new Map<string, Gpt.Model>()
let tasks: ReturnType<typeof DataParallel.mergeTasks> = { losses: new Map(), jobs: new Map() }

const init = async (req: DataParallel.InitRequest): Promise<SyncWorker.Reply> => {
  await useBackend(req.backend)
  for (const m of req.models) {
    const model = Gpt.init(m.spec.config, { head: m.spec.head })
    replicas.set(m.name, { model, layout: DataParallel.layout(m.spec), weights: new Float32Array(m.weights), grads: new Float32Array(m.grads), version: 0 })
    models.set(m.name, model)
  }
  tasks = DataParallel.mergeTasks(req.taskModules.map((url) => {
    const file = url.startsWith("file:") ? fileURLToPath(url) : url
    const mod = requireHere(file) as { tasks?: DataParallel.WorkerTasks }
    if (mod.tasks === undefined) throw new Error(`task module ${file} exports no \`tasks\``)
    return { from: file, tasks: mod.tasks }
  }))
  return { value: { backend: tf.getBackend() } }
}

// Reloads every replica whose weights the parent has published since this worker last looked.
const sync = (versions: Readonly<Record<string, number>>) => {
  for (const [name, r] of replicas) {
    const v = versions[name] ?? 0
    if (v === r.version) continue
    tf.tidy(() => {
      for (const p of r.layout) {
        const variable = r.model.params.get(p.name)!
        variable.assign(tf.tensor(r.weights.slice(p.offset, p.offset + p.size), variable.shape, "float32"))
      }
    })
    r.version = v
  }
}

const replica = (name: string): Replica => {
  const r = replicas.get(name)
  if (r === undefined) throw new Error(`no replica named "${name}"`)
  return r
}

const grad = (req: DataParallel.GradRequest): SyncWorker.Reply => {
  sync(req.versions)
  const r = replica(req.model)
  const loss = tasks.losses.get(req.loss)
  if (loss === undefined) throw new Error(`no shard loss named "${req.loss}" (known: ${[...tasks.losses.keys()].join(", ")})`)
  const names = req.params ?? r.layout.map((p) => p.name)
  const g = DataParallel.shardGradients({ models, model: r.model }, names, loss, req.shard)
  const offsets = new Map(r.layout.map((p) => [p.name, p]))
  for (const n of names) {
    const p = offsets.get(n)!
    if (g.grads.has(n)) r.grads.set(g.grads.get(n)!, p.offset)
    else r.grads.fill(0, p.offset, p.offset + p.size)
  }
  const answer: DataParallel.GradAnswer = { loss: g.loss, reports: g.reports, reached: [...g.grads.keys()] }
  return { value: answer, transfer: g.reports.map((x) => x.buffer as ArrayBuffer) }
}

const job = (req: DataParallel.JobRequest): SyncWorker.Reply => {
  sync(req.versions)
  const fn = tasks.jobs.get(req.job)
  if (fn === undefined) throw new Error(`no job named "${req.job}" (known: ${[...tasks.jobs.keys()].join(", ")})`)
  return fn({ models }, req.payload)
}

SyncWorker.serve((request) => {
  const req = request as DataParallel.InitRequest | DataParallel.GradRequest | DataParallel.JobRequest
  return req.type === "init" ? init(req) : req.type === "grad" ? grad(req) : job(req)
})
