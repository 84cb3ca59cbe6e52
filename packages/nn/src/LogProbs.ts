/**
 * Per-token log-probabilities and entropies of given responses under a model.
 *
 * Layout: prompts are left-padded to a common length P and responses right-padded to R, so the
 * response occupies columns P .. P+R-1 of every row and per-token arrays are [B, R]. The token in
 * column P + j is predicted from the hidden state in column P + j - 1.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Gpt from "./Gpt.ts"
import * as ops from "./ops.ts"
import * as Tokenizer from "./Tokenizer.ts"

/** Prompt+response batch in the layout above. */
export interface SequenceBatch {
  /** [B, P + R] int32 */
  readonly ids: tf.Tensor2D
  /** [B, P + R], 1 = real token */
  readonly attentionMask: tf.Tensor2D
  /** [B, R], 1 = real response token */
  readonly responseMask: tf.Tensor2D
  /** P: column of the first response token. */
  readonly promptLength: number
  /** [B] int32: column of each row's last response token (its prompt's last token if the response is empty). */
  readonly lastIndex: tf.Tensor1D
}

/** Builds a {@link SequenceBatch}; errors if a row is longer than `contextLength` (when given). */
export const sequenceBatch = (prompts: ReadonlyArray<Int32Array>, responses: ReadonlyArray<Int32Array>, contextLength?: number): SequenceBatch => {
  if (prompts.length !== responses.length || prompts.length === 0) throw new Error(`sequenceBatch: ${prompts.length} prompts and ${responses.length} responses (need the same, non-zero number)`)
  const b = prompts.length
  const p = Math.max(...prompts.map((x) => x.length)), r = Math.max(1, ...responses.map((x) => x.length))
  if (contextLength !== undefined && p + r > contextLength) throw new Error(`sequenceBatch: prompt ${p} + response ${r} tokens exceed contextLength ${contextLength}`)
  if (p < 1) throw new Error("sequenceBatch: every batch needs a non-empty prompt (at least <|assistant|>)")
  const t = p + r
  const ids = new Int32Array(b * t).fill(Tokenizer.PAD), attn = new Float32Array(b * t), resp = new Float32Array(b * r), last = new Int32Array(b)
  prompts.forEach((pr, i) => {
    const rs = responses[i]!
    ids.set(pr, i * t + p - pr.length), ids.set(rs, i * t + p)
    attn.fill(1, i * t + p - pr.length, i * t + p + rs.length)
    resp.fill(1, i * r, i * r + rs.length)
    last[i] = p + rs.length - 1
  })
  return {
    ids: tf.tensor2d(ids, [b, t], "int32"),
    attentionMask: tf.tensor2d(attn, [b, t]),
    responseMask: tf.tensor2d(resp, [b, r]),
    promptLength: p,
    lastIndex: tf.tensor1d(last, "int32")
  }
}

/** Frees a batch's tensors. */
export const disposeBatch = (batch: SequenceBatch): void => [batch.ids, batch.attentionMask, batch.responseMask, batch.lastIndex].forEach((x) => x.dispose())

/** Hidden states [B, R, D] of the columns that predict each response token (also feed value heads). */
export const responseHidden = (model: Gpt.Model, batch: SequenceBatch): tf.Tensor3D =>
  tf.tidy(() => {
    const hidden = Gpt.forward(model, batch.ids, { mask: batch.attentionMask }).hidden // [B, P+R, D]
    const [b, , d] = hidden.shape, r = batch.responseMask.shape[1]
    return tf.slice(hidden, [0, batch.promptLength - 1, 0], [b, r, d])
  })

/**
 * Differentiable per-token log-probabilities and entropies [B, R] of the response tokens
 * (zero at padded positions).
 */
export const tokenLogProbs = (model: Gpt.Model, batch: SequenceBatch): { logProbs: tf.Tensor2D; entropy: tf.Tensor2D } =>
  tf.tidy(() => {
    const logits = Gpt.lmLogits(model, responseHidden(model, batch)) // [B, R, V]
    const [b, r, v] = logits.shape
    const flat = tf.reshape(logits, [b * r, v]) as tf.Tensor2D
    const targets = tf.reshape(tf.slice(batch.ids, [0, batch.promptLength], [b, r]), [b * r])
    const logProbs = tf.reshape(tf.neg(ops.softmaxCrossEntropy(flat, targets)), [b, r])
    const logp = tf.logSoftmax(flat)
    const entropy = tf.reshape(tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)), [b, r])
    return { logProbs: tf.mul(logProbs, batch.responseMask) as tf.Tensor2D, entropy: tf.mul(entropy, batch.responseMask) as tf.Tensor2D }
  })

/** Per-token log-probabilities and entropies of each response (arrays of the response's length), computed in batches. */
export const responseLogProbs = (
  model: Gpt.Model,
  prompts: ReadonlyArray<Int32Array>,
  responses: ReadonlyArray<Int32Array>,
  options: { batchSize?: number } = {}
): { logProbs: Float32Array[]; entropy: Float32Array[] } => {
  const bs = options.batchSize ?? 16
  const logProbs: Float32Array[] = [], entropy: Float32Array[] = []
  for (let i = 0; i < prompts.length; i += bs) {
    const batch = sequenceBatch(prompts.slice(i, i + bs), responses.slice(i, i + bs), model.config.contextLength)
    const [lp, en] = tf.tidy(() => {
      const out = tokenLogProbs(model, batch)
      return [out.logProbs.dataSync() as Float32Array, out.entropy.dataSync() as Float32Array]
    })
    disposeBatch(batch)
    const r = batch.responseMask.shape[1]
    responses.slice(i, i + bs).forEach((resp, j) => {
      logProbs.push(lp!.slice(j * r, j * r + resp.length)), entropy.push(en!.slice(j * r, j * r + resp.length))
    })
  }
  return { logProbs, entropy }
}
