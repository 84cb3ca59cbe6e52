/**
 * Batched autoregressive generation with a KV cache. Prompts are left-padded so every row's next
 * token sits in the last column; sampling runs in JS with a seeded generator, so the same seed
 * gives the same tokens (on the same backend) whatever else used the tfjs RNG. On the native
 * backend each step is one fused kernel call (see Decoder.ts), elsewhere a tfjs forward pass.
 */
import * as Decoder from "./Decoder.ts"
import type * as Gpt from "./Gpt.ts"
import * as Prng from "./Prng.ts"
import { sampleToken } from "./Sampling.ts"
import type { SamplingOptions } from "./Sampling.ts"
import * as Tokenizer from "./Tokenizer.ts"

export { sampleToken } from "./Sampling.ts"
export type { SamplingOptions } from "./Sampling.ts"

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
  if (!(maxNew > 0)) return { tokens: out.map(() => new Int32Array(0)), finished }

  // Columns fed: the prompt, then one per step but the last (its token is not fed back).
  const decoder = Decoder.open(model, b, p + maxNew - 1)
  try {
    let input = ids, width = p
    for (let step = 0; step < maxNew && !finished.every(Boolean); step++) {
      const logits = decoder.step(input, width, mask)
      const ranked = o.greedy || o.temperature === 0 ? undefined : decoder.rankLast?.()
      const next = new Int32Array(b).fill(Tokenizer.PAD)
      for (let i = 0; i < b; i++) {
        const alive = !finished[i]
        if (alive) {
          next[i] = sampleToken(logits.subarray(i * v, (i + 1) * v), rng, o, ranked?.subarray(i * v, (i + 1) * v))
          out[i]!.push(next[i]!)
          finished[i] = next[i] === stop
        }
        mask[i]!.push(alive ? 1 : 0) // finished rows feed masked padding
      }
      input = next, width = 1
    }
  } finally {
    decoder.dispose()
  }
  return { tokens: out.map((x) => Int32Array.from(x)), finished }
}
