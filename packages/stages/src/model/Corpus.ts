/**
 * A pretraining corpus as one token stream, and its held-out split. Pure functions of a tokenizer
 * (no TensorFlow.js), shared by the pretrain stage and by tests that build baselines on the very
 * same split.
 */
import type * as Tokenizer from "@rlhf/nn/Tokenizer"

/** <|endoftext|>: ends every document in the stream (the id layout is fixed, see nn's Tokenizer). */
const EOT = 0

/** A corpus encoded as one stream. */
export interface EncodedCorpus {
  /** Every document's tokens followed by <|endoftext|>, in table order. */
  readonly ids: Int32Array
  readonly documents: number
  /** Documents longer than the context: the model never sees them whole. */
  readonly documentsOverContext: number
}

/**
 * Encodes documents into one stream, each followed by <|endoftext|> so the model learns where
 * documents end. Special-token strings inside the text stay plain text.
 */
export const encodeCorpus = (tok: Tokenizer.Tokenizer, texts: ReadonlyArray<string>, contextLength: number): EncodedCorpus => {
  const parts: Int32Array[] = []
  let length = 0, over = 0
  for (const text of texts) {
    const ids = tok.encode(text, { allowSpecial: false })
    if (ids.length + 1 > contextLength) over++
    parts.push(ids), (length += ids.length + 1)
  }
  const ids = new Int32Array(length)
  let at = 0
  for (const p of parts) ids.set(p, at), (ids[at + p.length] = EOT), (at += p.length + 1)
  return { ids, documents: texts.length, documentsOverContext: over }
}

/** The training part and the held-out tail of a token stream. */
export interface Split {
  readonly train: Int32Array
  readonly val: Int32Array
}

/**
 * Holds out the last `valFraction` of the stream (rounded up; none when 0), the nanoGPT way: the
 * held-out text is contiguous, so no window of it overlaps training text.
 */
export const holdoutSplit = (ids: Int32Array, valFraction: number): Split => {
  const nVal = valFraction > 0 ? Math.ceil(ids.length * valFraction) : 0
  return { train: ids.subarray(0, ids.length - nVal), val: ids.subarray(ids.length - nVal) }
}
