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
import * as LmParallel from "./LmParallel.ts"
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
const losses = new Map<string, DataParallel.ShardLoss<unknown>>()
const jobs = new Map<string, DataParallel.ShardJob<unknown>>()
const models = new Map<string, Gpt.Model>()

const addTasks = (tasks: DataParallel.WorkerTasks, from: string) => {
  for (const [kind, source, target] of [["loss", tasks.losses, losses], ["job", tasks.jobs, jobs]] as const) {
    for (const [name, fn] of Object.entries(source ?? {})) {
      if (target.has(name)) throw new Error(`${from} defines ${kind} "${name}", which another task module already defines`)
      ;(target as Map<string, unknown>).set(name, fn)
    }
  }
}

const init = async (req: DataParallel.InitRequest): Promise<SyncWorker.Reply> => {
  await useBackend(req.backend)
  for (const m of req.models) {
    const model = Gpt.init(m.spec.config, { head: m.spec.head })
    replicas.set(m.name, { model, layout: DataParallel.layout(m.spec), weights: new Float32Array(m.weights), grads: new Float32Array(m.grads), version: 0 })
    models.set(m.name, model)
  }
  addTasks(LmParallel.tasks, "LmParallel.ts")
  for (const url of req.taskModules) {
    const file = url.startsWith("file:") ? fileURLToPath(url) : url
    const mod = requireHere(file) as { tasks?: DataParallel.WorkerTasks }
    if (mod.tasks === undefined) throw new Error(`task module ${file} exports no \`tasks\``)
    addTasks(mod.tasks, file)
  }
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
  const loss = losses.get(req.loss)
  if (loss === undefined) throw new Error(`no shard loss named "${req.loss}" (known: ${[...losses.keys()].join(", ")})`)
  const names = req.params ?? r.layout.map((p) => p.name)
  const vars = names.map((n) => {
    const v = r.model.params.get(n)
    if (v === undefined) throw new Error(`replica "${req.model}" has no parameter ${n}`)
    return v
  })
  const nameOf = new Map(vars.map((v, i) => [v.name, names[i]!]))
  const reported: tf.Tensor[] = []
  const ctx: DataParallel.LossContext = { models, model: r.model }
  const { value, grads } = tf.tidy(() => tf.variableGrads(() => loss(ctx, req.shard, (x) => void reported.push(tf.keep(x))), vars))
  try {
    const offsets = new Map(r.layout.map((p) => [p.name, p]))
    for (const n of names) {
      const p = offsets.get(n)!
      r.grads.fill(0, p.offset, p.offset + p.size)
    }
    const reached: string[] = []
    for (const [vn, g] of Object.entries(grads)) {
      const n = nameOf.get(vn)!
      r.grads.set(g.dataSync() as Float32Array, offsets.get(n)!.offset)
      reached.push(n)
    }
    const reports = reported.map((x) => Float32Array.from(x.dataSync() as Float32Array))
    const answer: DataParallel.GradAnswer = { loss: value.dataSync()[0]!, reports, reached }
    return { value: answer, transfer: reports.map((x) => x.buffer) }
  } finally {
    tf.dispose([value, ...Object.values(grads), ...new Set(reported)])
  }
}

const job = (req: DataParallel.JobRequest): SyncWorker.Reply => {
  sync(req.versions)
  const fn = jobs.get(req.job)
  if (fn === undefined) throw new Error(`no job named "${req.job}" (known: ${[...jobs.keys()].join(", ")})`)
  return fn({ models }, req.payload)
}

SyncWorker.serve((request) => {
  const req = request as DataParallel.InitRequest | DataParallel.GradRequest | DataParallel.JobRequest
  return req.type === "init" ? init(req) : req.type === "grad" ? grad(req) : job(req)
})
