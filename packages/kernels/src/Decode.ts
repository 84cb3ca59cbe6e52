/**
 * KV-cached GPT decoding on the native backend: one addon call (`gptForward`, native/decode.cc)
 * runs the whole trunk over the next tokens of every row, writes their keys and values in place
 * into a preallocated cache and returns the last token's LM logits. Generation uses it instead of
 * ~40 tfjs ops per layer per token, whose JavaScript overhead dominated at batch 16 x 1 token.
 *
 * The model is the nn package's Gpt (pre-LN blocks, packed q|k|v, GELU MLP, tied LM head); its
 * weights are passed as tensors in the order of {@link GPT_MODEL_WEIGHTS} then, per layer,
 * {@link GPT_LAYER_WEIGHTS} (the names are Gpt's parameter names, `h.{i}.` prefixed per layer).
 */
import * as tf from "@tensorflow/tfjs-core"
import { loadAddon } from "./Addon.ts"
import type { NativeAddon } from "./Addon.ts"
import type { BufferPool } from "./BufferPool.ts"
import { BACKEND } from "./Kernel.ts"
import type { NativeBackend } from "./NativeBackend.ts"

/** Model-level weights, first in the weight list. */
export const GPT_MODEL_WEIGHTS = ["wte", "wpe", "ln_f.gamma", "ln_f.beta"] as const

/** Per-layer weights, after the model-level ones, layer by layer (parameter `h.{i}.{name}`). */
export const GPT_LAYER_WEIGHTS = [
  "ln1.gamma", "ln1.beta", "attn.w_qkv", "attn.b_qkv", "attn.w_proj", "attn.b_proj",
  "ln2.gamma", "ln2.beta", "mlp.w_fc", "mlp.b_fc", "mlp.w_proj", "mlp.b_proj"
] as const

/** Architecture of the decoded model. */
export interface GptDims {
  readonly vocabSize: number
  readonly dModel: number
  readonly nLayers: number
  readonly nHeads: number
  readonly contextLength: number
}

/** Whether generation may take the native decode path: backend `native` active, addon with gptForward, not disabled. */
export const nativeDecodeAvailable = (): boolean =>
  process.env["RLHF_KERNELS_DECODE"] !== "0" && tf.getBackend() === BACKEND && typeof loadAddon().addon?.gptForward === "function"

/**
 * Decoding state of one batch: the weights' float32 storage on the native backend and a key /
 * value cache of `capacity` positions per row, borrowed from the backend's buffer pool (so
 * repeated generations do not first-touch megabytes of fresh memory) until {@link dispose}.
 */
export class GptDecoder {
  private past = 0
  private readonly logits: Float32Array
  private readonly order: Int32Array
  private disposed = false

  private constructor(
    private readonly addon: NativeAddon,
    private readonly pool: BufferPool,
    private readonly weights: Float32Array[],
    private readonly dims: GptDims,
    readonly batch: number,
    readonly capacity: number,
    private readonly kCache: Float32Array,
    private readonly vCache: Float32Array
  ) {
    this.logits = new Float32Array(batch * dims.vocabSize)
    this.order = new Int32Array(batch * dims.vocabSize)
  }

  /**
   * A decoder for `weights` (see the module comment), or undefined when the native path is not
   * available ({@link nativeDecodeAvailable}) or a weight is not plain float32 storage.
   */
  static open(weights: ReadonlyArray<tf.Tensor>, dims: GptDims, batch: number, capacity: number): GptDecoder | undefined {
    const addon = loadAddon().addon
    if (addon === undefined || !nativeDecodeAvailable()) return undefined
    const expected = GPT_MODEL_WEIGHTS.length + GPT_LAYER_WEIGHTS.length * dims.nLayers
    if (weights.length !== expected) throw new Error(`GptDecoder: expected ${expected} weight tensors for ${dims.nLayers} layers, got ${weights.length}`)
    if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(capacity) || capacity < 1 || capacity > dims.contextLength) {
      throw new Error(`GptDecoder: batch ${batch} must be a positive integer and capacity ${capacity} between 1 and contextLength ${dims.contextLength}`)
    }
    const backend = tf.backend() as NativeBackend
    const values: Float32Array[] = []
    for (const w of weights) {
      // DataStorage.get moves a tensor created on another backend over first.
      const v: unknown = w.dtype === "float32" ? backend.data.get(w.dataId)?.values : undefined
      if (!(v instanceof Float32Array) || v.length !== w.size) return undefined
      values.push(v)
    }
    const cacheSize = dims.nLayers * batch * dims.nHeads * capacity * (dims.dModel / dims.nHeads)
    const borrow = () => {
      const buffer = backend.pool.f32(cacheSize)
      backend.pool.retain(buffer) // held like a tensor's storage until dispose releases it
      return buffer
    }
    return new GptDecoder(addon, backend.pool, values, dims, batch, capacity, borrow(), borrow())
  }

  /** Positions already in the cache. */
  get pastLength(): number {
    return this.past
  }

  /**
   * Runs the next `t` tokens of every row: `ids` and `positions` int32 [batch, t] row-major,
   * `keyMask` [batch, capacity] (1 = real token; columns up to pastLength + t are read). Returns
   * the LM logits [batch, vocabSize] of each row's last new token, valid until the next call.
   */
  forward(ids: Int32Array, positions: Int32Array, keyMask: Float32Array, t: number): Float32Array {
    if (this.disposed) throw new Error("GptDecoder.forward: the decoder was disposed")
    const d = this.dims
    this.addon.gptForward(this.weights, [d.vocabSize, d.dModel, d.nLayers, d.nHeads, d.contextLength], this.kCache, this.vCache, this.capacity, ids, positions, keyMask, this.batch, t, this.past, this.logits)
    this.past += t
    return this.logits
  }

  /**
   * Each row's token ids ranked by the last {@link forward}'s logits, most likely first (ties:
   * lower id first; -0 ties with +0), [batch, vocabSize]: what sampling sorts by, computed
   * natively. Valid until the next call.
   */
  rankLast(): Int32Array {
    this.addon.rankDescending(this.logits, this.batch, this.dims.vocabSize, this.order)
    return this.order
  }

  /** Returns the cache buffers to the pool. */
  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.pool.release(this.kCache)
    this.pool.release(this.vCache)
  }
}
