/**
 * Reward-model scoring shared by rm-train, rm-eval and the policy stages: (prompt, response)
 * pairs encoded with the chat template under its truncation policy, right-padded batches, and
 * scores read at each sequence's last response token, in minibatches with every tensor freed.
 *
 * This module loads TensorFlow.js: stage modules import it lazily, inside `run`.
 */
import * as ChatTemplate from "@rlhf/nn/ChatTemplate"
import * as Gpt from "@rlhf/nn/Gpt"
import * as Tokenizer from "@rlhf/nn/Tokenizer"
import * as tf from "@tensorflow/tfjs-core"

/** One sequence to score: prompt ids (ending with <|assistant|>) and response ids. */
export interface Sequence {
  readonly prompt: Int32Array
  readonly response: Int32Array
}

/** A preference pair as token ids: one (truncated) prompt and its two (truncated) responses. */
export interface EncodedPair {
  readonly prompt: Int32Array
  readonly chosen: Int32Array
  readonly rejected: Int32Array
  /** Whether truncation cut the prompt, and either response. */
  readonly promptTruncated: boolean
  readonly responseTruncated: boolean
  /** True when the two responses are the same tokens after truncation (no preference left to learn). */
  readonly identical: boolean
}

/** Whether two token sequences are the same tokens. */
export const sameIds = (a: Int32Array, b: Int32Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * Encodes a pair to fit `contextLength` tokens per sequence, with the chat template's policy:
 * the prompt keeps its last tokens (oldest whole turns go first), each response its first tokens.
 * Both responses share one prompt, which may use up to max(maxPromptTokens, context − the longer
 * response) tokens (maxPromptTokens defaults to half the context); the responses get the rest.
 */
export const encodePair = (
  tok: Tokenizer.Tokenizer,
  prompt: ReadonlyArray<ChatTemplate.Turn>,
  chosen: string,
  rejected: string,
  contextLength: number,
  maxPromptTokens = Math.floor(contextLength / 2)
): EncodedPair => {
  const fullChosen = ChatTemplate.formatResponse(tok, chosen).ids
  const fullRejected = ChatTemplate.formatResponse(tok, rejected).ids
  const longer = Math.max(fullChosen.length, fullRejected.length)
  const budget = Math.min(contextLength - 1, Math.max(maxPromptTokens, contextLength - longer))
  const p = ChatTemplate.formatPrompt(tok, prompt, { maxTokens: budget })
  const room = contextLength - p.ids.length
  const c = fullChosen.slice(0, room), r = fullRejected.slice(0, room)
  return {
    prompt: p.ids,
    chosen: c,
    rejected: r,
    promptTruncated: p.truncated,
    responseTruncated: c.length < fullChosen.length || r.length < fullRejected.length,
    identical: sameIds(c, r)
  }
}

/** Encodes one (prompt, response) to fit the context, by the same policy as {@link encodePair}. */
export const encodeSequence = (
  tok: Tokenizer.Tokenizer,
  prompt: ReadonlyArray<ChatTemplate.Turn>,
  response: string,
  contextLength: number,
  maxPromptTokens = Math.floor(contextLength / 2)
): Sequence => {
  const [example] = ChatTemplate.formatExamples(tok, [{ turns: prompt, response }], contextLength, { maxPromptTokens }).examples
  return example!
}

/** Right-padded batch: ids and mask [B, T], and the column of each row's last token [B]. */
export interface RewardBatch {
  readonly ids: tf.Tensor2D
  readonly mask: tf.Tensor2D
  readonly lastIndex: tf.Tensor1D
  /** Real (non-padding) tokens in the batch. */
  readonly tokens: number
}

/**
 * Packs sequences as prompt ++ response, right-padded to the longest. Right padding (rather than
 * the left-padded prompt / right-padded response layout of LogProbs) lets a long prompt share a
 * batch with a long response: each row only has to fit the context on its own.
 */
export const rewardBatch = (seqs: ReadonlyArray<Sequence>): RewardBatch => {
  if (seqs.length === 0) throw new Error("rewardBatch: no sequences")
  const lengths = seqs.map((s) => s.prompt.length + s.response.length)
  const t = Math.max(...lengths)
  const ids = new Int32Array(seqs.length * t).fill(Tokenizer.PAD), mask = new Float32Array(seqs.length * t), last = new Int32Array(seqs.length)
  seqs.forEach((s, i) => {
    ids.set(s.prompt, i * t), ids.set(s.response, i * t + s.prompt.length)
    mask.fill(1, i * t, i * t + lengths[i]!)
    last[i] = lengths[i]! - 1 // the last response token (the prompt's last token if the response is empty)
  })
  return {
    ids: tf.tensor2d(ids, [seqs.length, t], "int32"),
    mask: tf.tensor2d(mask, [seqs.length, t]),
    lastIndex: tf.tensor1d(last, "int32"),
    tokens: lengths.reduce((a, b) => a + b, 0)
  }
}

/** Frees a batch's tensors. */
export const disposeBatch = (batch: RewardBatch): void => {
  batch.ids.dispose(), batch.mask.dispose(), batch.lastIndex.dispose()
}

/** Differentiable scores [B] of a batch: the reward head at each row's last token. */
export const batchScores = (model: Gpt.Model, batch: RewardBatch): tf.Tensor1D =>
  tf.tidy(() => Gpt.rewardAt(model, Gpt.forward(model, batch.ids, { mask: batch.mask }).hidden, batch.lastIndex))

/** Throws unless the model carries a reward head. */
export const checkRewardModel = (model: Gpt.Model): void => {
  if (model.head !== "reward") throw new Error(`the model has head "${model.head}", not "reward"; pass the weights output of an rm-train node`)
}

/**
 * Scores of many sequences, in minibatches of `batchSize` rows. Sequences are batched in order of
 * length (less padding); scores come back in input order. Every tensor is freed.
 */
export const scoreSequences = (model: Gpt.Model, seqs: ReadonlyArray<Sequence>, options: { batchSize?: number } = {}): Float32Array => {
  checkRewardModel(model)
  const bs = Math.max(1, options.batchSize ?? 32)
  const order = seqs.map((s, i) => ({ i, n: s.prompt.length + s.response.length })).sort((a, b) => a.n - b.n || a.i - b.i)
  const out = new Float32Array(seqs.length)
  for (let at = 0; at < order.length; at += bs) {
    const part = order.slice(at, at + bs)
    const batch = rewardBatch(part.map((o) => seqs[o.i]!))
    const values = tf.tidy(() => batchScores(model, batch).dataSync() as Float32Array)
    disposeBatch(batch)
    part.forEach((o, j) => (out[o.i] = values[j]!))
  }
  return out
}

/**
 * Scores of the chosen and rejected response of each encoded pair. Both responses of a pair are
 * scored in the same minibatch; responses that are identical after truncation get one score (a
 * tie by construction, free of padding-dependent float noise).
 */
export const scorePairs = (
  model: Gpt.Model,
  pairs: ReadonlyArray<EncodedPair>,
  options: { batchSize?: number } = {}
): { chosen: Float32Array; rejected: Float32Array } => {
  checkRewardModel(model)
  const perBatch = Math.max(1, Math.floor((options.batchSize ?? 32) / 2))
  const longest = (p: EncodedPair) => p.prompt.length + Math.max(p.chosen.length, p.rejected.length)
  const order = pairs.map((p, i) => ({ i, n: longest(p) })).sort((a, b) => a.n - b.n || a.i - b.i)
  const chosen = new Float32Array(pairs.length), rejected = new Float32Array(pairs.length)
  for (let at = 0; at < order.length; at += perBatch) {
    const part = order.slice(at, at + perBatch).map((o) => o.i)
    const seqs = [
      ...part.map((i) => ({ prompt: pairs[i]!.prompt, response: pairs[i]!.chosen })),
      ...part.map((i) => ({ prompt: pairs[i]!.prompt, response: pairs[i]!.rejected }))
    ]
    const batch = rewardBatch(seqs)
    const values = tf.tidy(() => batchScores(model, batch).dataSync() as Float32Array)
    disposeBatch(batch)
    part.forEach((i, j) => {
      chosen[i] = values[j]!
      rejected[i] = pairs[i]!.identical ? values[j]! : values[part.length + j]!
    })
  }
  return { chosen, rejected }
}
