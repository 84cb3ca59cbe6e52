/**
 * Incremental (KV-cached) decoding of a left-padded batch, the engine of generation: each call
 * feeds the next columns of every row and returns the LM logits of the last one.
 *
 * Two implementations with the same results up to float32 rounding:
 * - native: on the `native` backend, @rlhf/kernels' GptDecoder runs the whole step in one addon
 *   call with the keys and values written in place into a preallocated cache;
 * - tfjs: Gpt.forward with a KvCache (concatenated per step), on any backend.
 */
import { GPT_LAYER_WEIGHTS, GPT_MODEL_WEIGHTS, GptDecoder } from "@rlhf/kernels/Decode"
import * as tf from "@tensorflow/tfjs-core"
import * as Gpt from "./Gpt.ts"

/** A decoding session over one batch. */
export interface Decoder {
  /** "native" or "tfjs": which implementation runs. */
  readonly kind: "native" | "tfjs"
  /**
   * Runs the next `t` columns: `ids` int32 [B, t] row-major; `mask` every row's mask so far
   * (1 = real token, 0 = padding), each of length pastLength + t. Returns logits [B, V] of the
   * last column, valid until the next call.
   */
  step(ids: Int32Array, t: number, mask: ReadonlyArray<ReadonlyArray<number>>): Float32Array
  /**
   * Each row's ids ranked by the last step's logits as Sampling.rankDescending would, [B, V],
   * where the decoder computes that faster than sampling would; valid until the next step.
   */
  readonly rankLast?: () => Int32Array
  dispose(): void
}

/** A decoder for `batch` rows of at most `capacity` tokens: native when the backend allows, else tfjs. */
export const open = (model: Gpt.Model, batch: number, capacity: number): Decoder =>
  openNative(model, batch, capacity) ?? openTfjs(model, batch)

/** The tfjs decoder (any backend). */
export const openTfjs = (model: Gpt.Model, batch: number): Decoder => {
  let cache: Gpt.KvCache | undefined
  const disposeCache = () => cache !== undefined && tf.dispose([...cache.k, ...cache.v])
  return {
    kind: "tfjs",
    step: (ids, t, mask) => {
      const cols = mask[0]!.length
      const input = tf.tensor2d(ids, [batch, t], "int32")
      const maskT = tf.tensor2d(mask.flat(), [batch, cols])
      const { hidden, present } = Gpt.forward(model, input, cache === undefined ? { mask: maskT } : { mask: maskT, past: cache })
      disposeCache()
      cache = present
      // dataSync outside tf.tidy: tidy would walk the returned typed array element by element.
      const logits = tf.tidy(() => Gpt.lmLogits(model, tf.slice(hidden, [0, t - 1, 0], [batch, 1, model.config.dModel])))
      const values = logits.dataSync() as Float32Array
      tf.dispose([input, maskT, hidden, logits])
      return values
    },
    dispose: () => {
      disposeCache()
      cache = undefined
    }
  }
}

/** The native decoder, or undefined when the backend is not `native` (or its addon lacks the kernel). */
export const openNative = (model: Gpt.Model, batch: number, capacity: number): Decoder | undefined => {
  const c = model.config
  const names = [...GPT_MODEL_WEIGHTS, ...Array.from({ length: c.nLayers }, (_, i) => GPT_LAYER_WEIGHTS.map((n) => `h.${i}.${n}`)).flat()]
  const weights = names.map((n) => {
    const v = model.params.get(n)
    if (v === undefined) throw new Error(`Decoder: model has no parameter ${n}`)
    return v
  })
  const native = GptDecoder.open(weights, c, batch, capacity)
  if (native === undefined) return undefined
  const keyMask = new Float32Array(batch * capacity)
  const real = new Int32Array(batch) // real tokens so far per row: a token's position is the count before it
  let positions = new Int32Array(0)
  return {
    kind: "native",
    step: (ids, t, mask) => {
      const past = native.pastLength
      if (positions.length !== batch * t) positions = new Int32Array(batch * t)
      for (let b = 0; b < batch; b++) {
        const row = mask[b]!
        if (row.length !== past + t) throw new Error(`Decoder.step: mask row ${b} has ${row.length} columns, expected ${past + t}`)
        for (let i = 0; i < t; i++) {
          const m = row[past + i]!
          keyMask[b * capacity + past + i] = m
          real[b] += m
          positions[b * t + i] = Math.max(0, real[b]! - 1) // as Gpt.forward: relu(cumsum(mask) - 1)
        }
      }
      return native.forward(ids, positions, keyMask, t)
    },
    rankLast: () => native.rankLast(),
    dispose: () => native.dispose()
  }
}
