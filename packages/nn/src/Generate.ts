/**
 * Batched autoregressive generation with a KV cache. Prompts are left-padded so every row's next
 * token sits in the last column; sampling runs in JS with a seeded generator, so the same seed
 * gives the same tokens (on the same backend) whatever else used the tfjs RNG.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Gpt from "./Gpt.ts"
import * as Prng from "./Prng.ts"
import * as Tokenizer from "./Tokenizer.ts"

/** Sampling settings. */
export interface SamplingOptions {
  /** Softmax temperature (default 1). */
  readonly temperature?: number
  /** Keep only the k most likely tokens. */
  readonly topK?: number
  /** Keep the smallest set of most likely tokens whose probability reaches p. */
  readonly topP?: number
  /** Pick the most likely token (ignores the other settings). */
  readonly greedy?: boolean
}

/** Options of {@link generate}. */
export interface GenerateOptions extends SamplingOptions {
  readonly maxNewTokens: number
  readonly seed?: number
  /** Token that ends a sequence (default <|endoftext|>). */
  readonly stopToken?: number
}

/** Generated continuations: `tokens[i]` includes the stop token when row i produced it (`finished[i]`). */
export interface Generation {
  readonly tokens: Int32Array[]
  readonly finished: boolean[]
}

/** Draws one token id from `logits` [V]. */
export const sampleToken = (logits: Float32Array, rng: Prng.Prng, o: SamplingOptions = {}): number => {
  let best = 0
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i
  if (o.greedy || o.temperature === 0) return best
  const t = o.temperature ?? 1
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b)
  if (o.topK !== undefined && o.topK > 0) order = order.slice(0, o.topK)
  const weights = order.map((i) => Math.exp((logits[i]! - logits[best]!) / t))
  if (o.topP !== undefined && o.topP < 1) {
    const total = weights.reduce((a, b) => a + b, 0)
    let cum = 0, keep = 0
    while (keep < weights.length && cum < o.topP * total) cum += weights[keep++]!
    order = order.slice(0, Math.max(1, keep)), weights.length = Math.max(1, keep)
  }
  let u = rng.next() * weights.reduce((a, b) => a + b, 0)
  for (let i = 0; i < order.length; i++) if ((u -= weights[i]!) < 0) return order[i]!
  return order[order.length - 1]!
}

// Logits [B, V] of the last column of hidden [B, T, D], copied to JS.
const lastLogits = (model: Gpt.Model, hidden: tf.Tensor3D): Float32Array =>
  tf.tidy(() => {
    const [b, t, d] = hidden.shape
    return Gpt.lmLogits(model, tf.slice(hidden, [0, t - 1, 0], [b, 1, d])).dataSync() as Float32Array
  })

const disposeCache = (c: Gpt.KvCache) => [...c.k, ...c.v].forEach((x) => x.dispose())

/** Generates up to `maxNewTokens` per prompt (fewer if the context would overflow). */
export const generate = (model: Gpt.Model, prompts: ReadonlyArray<Int32Array>, o: GenerateOptions): Generation => {
  const b = prompts.length, v = model.config.vocabSize
  const p = Math.max(...prompts.map((x) => x.length))
  if (b === 0) return { tokens: [], finished: [] }
  if (p < 1 || p >= model.config.contextLength) throw new Error(`generate: prompt length ${p} must be between 1 and contextLength - 1 (${model.config.contextLength - 1}); truncate with ChatTemplate`)
  const maxNew = Math.min(o.maxNewTokens, model.config.contextLength - p)
  const stop = o.stopToken ?? Tokenizer.EOT
  const rng = Prng.make(o.seed ?? 0)
  const ids = new Int32Array(b * p).fill(Tokenizer.PAD)
  const mask: number[][] = prompts.map((x, i) => (ids.set(x, i * p + p - x.length), [...Array(p - x.length).fill(0), ...Array(x.length).fill(1)]))
  const out: number[][] = prompts.map(() => [])
  const finished = prompts.map(() => false)

  let cache: Gpt.KvCache | undefined
  let input = tf.tensor2d(ids, [b, p], "int32")
  try {
    for (let step = 0; step < maxNew && !finished.every(Boolean); step++) {
      const maskT = tf.tensor2d(mask.flat(), [b, mask[0]!.length])
      const { hidden, present } = Gpt.forward(model, input, cache === undefined ? { mask: maskT } : { mask: maskT, past: cache })
      const logits = lastLogits(model, hidden)
      hidden.dispose(), maskT.dispose(), input.dispose()
      if (cache !== undefined) disposeCache(cache)
      cache = present
      const next = new Int32Array(b).fill(Tokenizer.PAD)
      for (let i = 0; i < b; i++) {
        const alive = !finished[i]
        if (alive) {
          next[i] = sampleToken(logits.subarray(i * v, (i + 1) * v), rng, o)
          out[i]!.push(next[i]!)
          finished[i] = next[i] === stop
        }
        mask[i]!.push(alive ? 1 : 0) // finished rows feed masked padding
      }
      input = tf.tensor2d(next, [b, 1], "int32")
    }
  } finally {
    input.dispose()
    if (cache !== undefined) disposeCache(cache)
  }
  return { tokens: out.map((x) => Int32Array.from(x)), finished }
}
