/**
 * AdamW (decoupled weight decay, as PyTorch) over a model's named parameters, plus global-norm
 * gradient clipping. Weight decay applies to matrices only: never to LayerNorm gains or biases,
 * and to the embeddings (wte, wpe) only with `decayEmbeddings`. The moment estimates can be
 * exported as plain arrays or an Arrow table so training can resume across cached checkpoints.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as arrow from "apache-arrow"
import { column, listCell, listData, makeTable } from "./ArrowTable.ts"

/** Hyper-parameters (the learning rate is passed per step, see LrSchedule). */
export interface Config {
  readonly beta1: number
  readonly beta2: number
  readonly eps: number
  readonly weightDecay: number
  readonly decayEmbeddings: boolean
}

/** Defaults as nanoGPT. */
export const defaults: Config = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayEmbeddings: false }

/** An optimiser: config, step count and first/second moments per parameter name. */
export interface Optimizer {
  readonly config: Config
  step: number
  readonly m: Map<string, tf.Variable>
  readonly v: Map<string, tf.Variable>
}

const zeroVar = (p: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(p), false))

/** A fresh optimiser for these parameters. */
export const make = (params: ReadonlyMap<string, tf.Variable>, config: Partial<Config> = {}): Optimizer => {
  const m = new Map<string, tf.Variable>(), v = new Map<string, tf.Variable>()
  for (const [name, p] of params) m.set(name, zeroVar(p)), v.set(name, zeroVar(p))
  return { config: { ...defaults, ...config }, step: 0, m, v }
}

/** Whether weight decay applies to a parameter. */
export const decays = (name: string, shape: ReadonlyArray<number>, config: Config): boolean =>
  shape.length >= 2 && (config.decayEmbeddings || (name !== "wte" && name !== "wpe"))

/** Global L2 norm of the gradients and the gradients scaled so that norm <= maxNorm. */
export const clipByGlobalNorm = (grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } => {
  const norm = tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))) as tf.Scalar
  const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)))
  return { grads: new Map([...grads].map(([n, g]) => [n, tf.mul(g, scale)])), norm }
}

/** One AdamW update of `params` with `grads` (by parameter name) at learning rate `lr`. */
export const apply = (opt: Optimizer, params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void => {
  opt.step += 1
  const { beta1: b1, beta2: b2, eps, weightDecay } = opt.config
  const c1 = 1 - b1 ** opt.step, c2 = 1 - b2 ** opt.step
  tf.tidy(() => {
    for (const [name, g] of grads) {
      const p = params.get(name), m = opt.m.get(name), v = opt.v.get(name)
      if (p === undefined || m === undefined || v === undefined) throw new Error(`AdamW: no parameter or state named ${name}`)
      m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)))
      v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)))
      const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps))
      const decayed = decays(name, p.shape, opt.config) ? tf.mul(p, 1 - lr * weightDecay) : p
      p.assign(tf.sub(decayed, tf.mul(update, lr)))
    }
  })
}

/** Frees the optimiser's moment variables. */
export const dispose = (opt: Optimizer): void => {
  for (const t of [...opt.m.values(), ...opt.v.values()]) t.dispose()
}

/** Plain-array form of the optimiser state. */
export interface PlainState {
  readonly config: Config
  readonly step: number
  readonly tensors: ReadonlyArray<{ name: string; shape: number[]; m: Float32Array; v: Float32Array }>
}

/** Copies the state out of the backend. */
export const exportState = (opt: Optimizer): PlainState => ({
  config: opt.config,
  step: opt.step,
  tensors: [...opt.m.keys()].map((name) => ({
    name,
    shape: opt.m.get(name)!.shape,
    m: opt.m.get(name)!.dataSync() as Float32Array,
    v: opt.v.get(name)!.dataSync() as Float32Array
  }))
})

/** An optimiser for `params` restored from exported state; names and shapes must match. */
export const importState = (params: ReadonlyMap<string, tf.Variable>, state: PlainState): Optimizer => {
  const opt = make(params, state.config)
  opt.step = state.step
  const seen = new Set<string>()
  for (const t of state.tensors) {
    const m = opt.m.get(t.name), v = opt.v.get(t.name)
    if (m === undefined || v === undefined) throw new Error(`AdamW.importState: state has tensor "${t.name}" but the model has no such parameter`)
    if (!tf.util.arraysEqual(m.shape, t.shape)) throw new Error(`AdamW.importState: tensor "${t.name}" has shape [${t.shape}] in the state but [${m.shape}] in the model`)
    tf.tidy(() => (m.assign(tf.tensor(t.m, m.shape)), v.assign(tf.tensor(t.v, v.shape))))
    seen.add(t.name)
  }
  const missing = [...params.keys()].filter((n) => !seen.has(n))
  if (missing.length > 0) throw new Error(`AdamW.importState: state lacks tensors ${missing.join(", ")}`)
  return opt
}

/** Arrow form: rows name, shape (List<Int32>), m, v (List<Float32>); metadata `step` and `config` (JSON). */
export const stateToTable = (opt: Optimizer): arrow.Table => {
  const s = exportState(opt)
  return makeTable(
    [
      ["name", arrow.vectorFromArray(s.tensors.map((t) => t.name), new arrow.Utf8()).data[0]!],
      ["shape", listData(new arrow.Int32(), s.tensors.map((t) => t.shape))],
      ["m", listData(new arrow.Float32(), s.tensors.map((t) => t.m))],
      ["v", listData(new arrow.Float32(), s.tensors.map((t) => t.v))]
    ],
    { format: "rlhf-adamw-v1", step: String(s.step), config: JSON.stringify(s.config) }
  )
}

/** Restores an optimiser from {@link stateToTable}'s table. */
export const stateFromTable = (params: ReadonlyMap<string, tf.Variable>, table: arrow.Table): Optimizer => {
  const what = "AdamW.stateFromTable"
  if (table.schema.metadata.get("format") !== "rlhf-adamw-v1") throw new Error(`${what}: table is not an AdamW state (format metadata missing)`)
  const name = column(table, "name", what), shape = column(table, "shape", what), m = column(table, "m", what), v = column(table, "v", what)
  const tensors = Array.from({ length: table.numRows }, (_, i) => ({
    name: name.get(i) as string,
    shape: Array.from(listCell(shape, i)),
    m: Float32Array.from(listCell(m, i)),
    v: Float32Array.from(listCell(v, i))
  }))
  return importState(params, {
    config: JSON.parse(table.schema.metadata.get("config")!) as Config,
    step: Number(table.schema.metadata.get("step")),
    tensors
  })
}
