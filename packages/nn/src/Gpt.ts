/**
 * A nanoGPT-shaped decoder: learned positions, pre-LayerNorm blocks, causal multi-head attention,
 * GELU MLP (4x), tied input/output embeddings, and optional scalar heads (critic value, reward).
 *
 * Parameter names (shapes for D = dModel, V = vocabSize, C = contextLength):
 *   wte [V, D], wpe [C, D],
 *   h.{i}.ln1.gamma/beta [D], h.{i}.attn.w_qkv [D, 3D], h.{i}.attn.b_qkv [3D],
 *   h.{i}.attn.w_proj [D, D], h.{i}.attn.b_proj [D], h.{i}.ln2.gamma/beta [D],
 *   h.{i}.mlp.w_fc [D, 4D], h.{i}.mlp.b_fc [4D], h.{i}.mlp.w_proj [4D, D], h.{i}.mlp.b_proj [D],
 *   ln_f.gamma/beta [D], and for head "value" value_head.w [D], value_head.b [1]
 *   (resp. reward_head.* for head "reward").
 */
import * as tf from "@tensorflow/tfjs-core"
import * as ops from "./ops.ts"
import * as Prng from "./Prng.ts"

/** Architecture hyper-parameters. */
export interface Config {
  readonly vocabSize: number
  readonly dModel: number
  readonly nLayers: number
  readonly nHeads: number
  readonly contextLength: number
}

/** Which scalar head a model carries besides the (always present, tied) LM head. */
export type Head = "lm" | "value" | "reward"

/** A model: its config, head kind and named trainable variables. */
export interface Model {
  readonly config: Config
  readonly head: Head
  readonly params: ReadonlyMap<string, tf.Variable>
}

/** Per-layer attention keys and values of the tokens seen so far, each [B, H, Tpast, D/H]. */
export interface KvCache {
  readonly k: ReadonlyArray<tf.Tensor4D>
  readonly v: ReadonlyArray<tf.Tensor4D>
}

/** Names and shapes of every parameter of a model with this config and head. */
export const paramShapes = (c: Config, head: Head = "lm"): Array<[string, number[]]> => {
  const d = c.dModel
  const shapes: Array<[string, number[]]> = [["wte", [c.vocabSize, d]], ["wpe", [c.contextLength, d]]]
  for (let i = 0; i < c.nLayers; i++) {
    const p = `h.${i}.`
    shapes.push(
      [`${p}ln1.gamma`, [d]], [`${p}ln1.beta`, [d]],
      [`${p}attn.w_qkv`, [d, 3 * d]], [`${p}attn.b_qkv`, [3 * d]],
      [`${p}attn.w_proj`, [d, d]], [`${p}attn.b_proj`, [d]],
      [`${p}ln2.gamma`, [d]], [`${p}ln2.beta`, [d]],
      [`${p}mlp.w_fc`, [d, 4 * d]], [`${p}mlp.b_fc`, [4 * d]],
      [`${p}mlp.w_proj`, [4 * d, d]], [`${p}mlp.b_proj`, [d]]
    )
  }
  shapes.push(["ln_f.gamma", [d]], ["ln_f.beta", [d]])
  if (head !== "lm") shapes.push([`${head}_head.w`, [d]], [`${head}_head.b`, [1]])
  return shapes
}

const validate = (c: Config): void => {
  for (const [k, v] of Object.entries(c)) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`Gpt config ${k} must be a positive integer, got ${v}`)
  }
  if (c.dModel % c.nHeads !== 0) throw new Error(`Gpt config dModel ${c.dModel} is not divisible by nHeads ${c.nHeads}`)
}

// FNV-1a: each parameter draws from its own stream, so its init does not depend on the others.
const hash = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const initValues = (name: string, shape: number[], c: Config, seed: number): Float32Array => {
  const size = shape.reduce((a, b) => a * b, 1)
  const out = new Float32Array(size)
  if (name.endsWith(".gamma")) return out.fill(1)
  if (shape.length === 1 && !name.endsWith("_head.w")) return out // biases and LN betas
  // GPT-2: residual projections scaled down by sqrt(2 * layers) to keep the residual stream stable.
  const std = name.endsWith("w_proj") ? 0.02 / Math.sqrt(2 * c.nLayers) : 0.02
  const rng = Prng.make(hash(name) ^ seed)
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std
  return out
}

/** A freshly initialised model; the same seed gives the same weights. */
export const init = (config: Config, options: { seed?: number; head?: Head } = {}): Model => {
  validate(config)
  const head = options.head ?? "lm"
  const params = new Map<string, tf.Variable>()
  for (const [name, shape] of paramShapes(config, head)) {
    const values = initValues(name, shape, config, options.seed ?? 0)
    // Left to tfjs to name (names are global in the engine); the map key is the parameter name.
    params.set(name, tf.tidy(() => tf.variable(tf.tensor(values, shape, "float32"), true)))
  }
  return { config, head, params }
}

/**
 * A new model with `head`, taking every parameter whose name and shape match from `source`
 * (e.g. reward model from SFT, critic from reward model); the rest (new heads) is fresh.
 */
export const initFrom = (source: Model, options: { seed?: number; head?: Head } = {}): Model => {
  const model = init(source.config, options)
  for (const [name, v] of model.params) {
    const from = source.params.get(name)
    if (from !== undefined && tf.util.arraysEqual(from.shape, v.shape)) v.assign(from)
  }
  return model
}

/** Frees the model's variables. */
export const dispose = (model: Model): void => {
  for (const v of model.params.values()) v.dispose()
}

/** Number of scalar parameters. */
export const parameterCount = (model: Model): number =>
  [...model.params.values()].reduce((n, v) => n + v.size, 0)

const param = <R extends tf.Rank = tf.Rank>(m: Model, name: string): tf.Variable<R> => {
  const v = m.params.get(name)
  if (v === undefined) throw new Error(`Gpt model has no parameter ${name}`)
  return v as tf.Variable<R>
}

// x [B, T, Din] @ w [Din, Dout] + b -> [B, T, Dout]
const linear = (x: tf.Tensor3D, w: tf.Tensor, b: tf.Tensor): tf.Tensor3D => {
  const [bs, t, din] = x.shape
  const y = tf.add(ops.matMul(tf.reshape(x, [bs * t, din]), w), b) // [B*T, Dout]
  return tf.reshape(y, [bs, t, w.shape[1]!])
}

// [B, T, D] -> [B, H, T, D/H]
const splitHeads = (x: tf.Tensor3D, h: number): tf.Tensor4D => {
  const [b, t, d] = x.shape
  return tf.transpose(tf.reshape(x, [b, t, h, d / h]), [0, 2, 1, 3])
}

// Which keys each query may see, [B, 1, T, Tk] of 1/0: causal (key j <= pastLen + i) and key is real.
const attentionKeep = (mask: tf.Tensor2D, pastLen: number, t: number): tf.Tensor4D => {
  const tk = pastLen + t
  const causal = new Float32Array(t * tk)
  for (let i = 0; i < t; i++) causal.fill(1, i * tk, i * tk + pastLen + i + 1)
  return tf.mul(tf.tensor(causal, [1, 1, t, tk]), tf.reshape(mask, [mask.shape[0], 1, 1, tk])) as tf.Tensor4D
}

/** Options of {@link forward}. */
export interface ForwardOptions {
  /** [B, Tpast + T], 1 = real token, 0 = padding (left padding allowed). Default: all ones. */
  readonly mask?: tf.Tensor2D
  /** Keys/values of the previous Tpast tokens (incremental decoding). */
  readonly past?: KvCache
}

/** Output of {@link forward}: final hidden states [B, T, D] and the cache including these tokens. */
export interface ForwardResult {
  readonly hidden: tf.Tensor3D
  readonly present: KvCache
}

/**
 * Transformer trunk on int32 `ids` [B, T]. Positions count real tokens only, so a left-padded
 * sequence sees the same positions as unpadded; padded keys are masked out.
 */
export const forward = (model: Model, ids: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult =>
  tf.tidy(() => {
    const c = model.config
    const [b, t] = ids.shape
    const pastLen = options.past?.k[0]?.shape[2] ?? 0
    const tk = pastLen + t
    if (tk > c.contextLength) throw new Error(`Gpt.forward: ${tk} tokens exceed contextLength ${c.contextLength}`)
    const mask = options.mask === undefined ? tf.ones([b, tk]) as tf.Tensor2D : tf.cast(options.mask, "float32")
    // Position = number of real tokens before this one (left padding starts at 0).
    const positions = tf.cast(tf.slice(tf.relu(tf.sub(tf.cumsum(mask, 1), 1)), [0, pastLen], [b, t]), "int32")
    let x = tf.add(ops.embedding(param(model, "wte"), ids), ops.embedding(param(model, "wpe"), positions)) as tf.Tensor3D
    const keep = attentionKeep(mask, pastLen, t)
    const blocked = tf.mul(tf.sub(keep, 1), 1e9) // 0 where visible, -1e9 where blocked
    const hd = c.dModel / c.nHeads
    const ks: tf.Tensor4D[] = [], vs: tf.Tensor4D[] = []
    for (let i = 0; i < c.nLayers; i++) {
      const p = (n: string) => param(model, `h.${i}.${n}`)
      const h1 = ops.layerNorm(x, p("ln1.gamma"), p("ln1.beta"))
      // q, k, v from column blocks of the packed w_qkv: slicing the small weight is cheaper than
      // splitting the [B, T, 3D] activation (SplitV is slow on the cpu backend).
      const wqkv = p("attn.w_qkv"), bqkv = p("attn.b_qkv"), d = c.dModel
      const [q, k0, v0] = [0, 1, 2].map((j) => linear(h1, tf.slice(wqkv, [0, j * d], [d, d]), tf.slice(bqkv, [j * d], [d])))
      const pk = options.past?.k[i], pv = options.past?.v[i]
      const k = pk ? tf.concat([pk, splitHeads(k0!, c.nHeads)], 2) : splitHeads(k0!, c.nHeads) // [B, H, Tk, hd]
      const v = pv ? tf.concat([pv, splitHeads(v0!, c.nHeads)], 2) : splitHeads(v0!, c.nHeads)
      ks.push(k), vs.push(v)
      // score * keep + blocked rather than score + blocked: a blocked score then gets exactly zero
      // gradient, also in rows whose keys are all padding (float32 swallows score in score - 1e9).
      const raw = tf.mul(tf.matMul(splitHeads(q!, c.nHeads), k, false, true), 1 / Math.sqrt(hd))
      const scores = tf.add(tf.mul(raw, keep), blocked) // [B, H, T, Tk]
      const att = tf.matMul(tf.softmax(scores), v) // [B, H, T, hd]
      const merged = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [b, t, c.dModel]) as tf.Tensor3D // [B, T, D]
      x = tf.add(x, linear(merged, p("attn.w_proj"), p("attn.b_proj")))
      const h2 = ops.layerNorm(x, p("ln2.gamma"), p("ln2.beta"))
      x = tf.add(x, linear(ops.gelu(linear(h2, p("mlp.w_fc"), p("mlp.b_fc"))), p("mlp.w_proj"), p("mlp.b_proj")))
    }
    const hidden = ops.layerNorm(x, param(model, "ln_f.gamma"), param(model, "ln_f.beta"))
    return { hidden, present: { k: ks, v: vs } }
  })

/** LM logits [B, T, V] from hidden states (tied to the input embedding). */
export const lmLogits = (model: Model, hidden: tf.Tensor3D): tf.Tensor3D =>
  tf.tidy(() => {
    const [b, t, d] = hidden.shape
    const logits = ops.matMul(tf.reshape(hidden, [b * t, d]), tf.transpose(param(model, "wte"))) // [B*T, V]
    return tf.reshape(logits, [b, t, model.config.vocabSize])
  })

/** Scalar head output per position [B, T] (value head for critics, reward head for reward models). */
export const scalarHead = (model: Model, hidden: tf.Tensor3D): tf.Tensor2D =>
  tf.tidy(() => {
    if (model.head === "lm") throw new Error("Gpt.scalarHead: model has head 'lm' (no scalar head); use initFrom with head 'value' or 'reward'")
    const [b, t, d] = hidden.shape
    const w = tf.reshape(param(model, `${model.head}_head.w`), [d, 1])
    const y = tf.add(ops.matMul(tf.reshape(hidden, [b * t, d]), w), param(model, `${model.head}_head.b`)) // [B*T, 1]
    return tf.reshape(y, [b, t])
  })

/** Reward [B]: the scalar head read at `lastIndex` [B] (int32, index of each row's last response token). */
export const rewardAt = (model: Model, hidden: tf.Tensor3D, lastIndex: tf.Tensor1D): tf.Tensor1D =>
  tf.tidy(() => {
    const values = scalarHead(model, hidden) // [B, T]
    return tf.sum(tf.mul(values, ops.oneHot(lastIndex, hidden.shape[1])), 1) as tf.Tensor1D
  })

/** Convenience: LM logits [B, T, V] for `ids` [B, T] with an optional mask. */
export const logits = (model: Model, ids: tf.Tensor2D, mask?: tf.Tensor2D): tf.Tensor3D =>
  tf.tidy(() => lmLogits(model, forward(model, ids, mask === undefined ? {} : { mask }).hidden))
