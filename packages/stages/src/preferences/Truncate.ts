import type { ChatTurn, PreferencePair } from "./PreferencePair.ts"

/** A tokenizer's two directions; token ids are opaque numbers. */
export type Codec = { encode: (text: string) => ReadonlyArray<number>; decode: (ids: number[]) => string }

/** Options of truncatePairs: the codec and the token budget of each part. */
export type TruncateOptions = Codec & {
  /** Most tokens of prompt content (all turns together; chat-template tokens are the caller's margin). */
  maxPromptTokens: number
  /** Most tokens of each response. */
  maxResponseTokens: number
}

/** What truncation did: counts over kept pairs, and the pairs dropped as identical. */
export type TruncateCounts = { promptTruncated: number; responseTruncated: number; droppedIdentical: number }

/**
 * Truncates pairs to a token budget. The prompt keeps its last turns, since the latest user
 * message is what the responses answer: whole earliest turns go first, then the earliest turn
 * left is cut from the left. Each response keeps its start, which is what the reward model
 * reads first and what a policy generates first. A pair whose responses are identical after
 * this (or already were) says nothing about preference and is dropped; `promptTruncated` and
 * `responseTruncated` count the kept pairs that were cut.
 */
export const truncatePairs = (pairs: ReadonlyArray<PreferencePair>, options: TruncateOptions): { pairs: PreferencePair[]; counts: TruncateCounts } => {
  for (const key of ["maxPromptTokens", "maxResponseTokens"] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 0) throw new Error(`truncatePairs: ${key} must be a non-negative integer, got ${options[key]}`)
  }
  const counts: TruncateCounts = { promptTruncated: 0, responseTruncated: 0, droppedIdentical: 0 }
  const out: PreferencePair[] = []
  for (const pair of pairs) {
    const chosen = truncateResponse(pair.chosen, options.maxResponseTokens, options)
    const rejected = truncateResponse(pair.rejected, options.maxResponseTokens, options)
    if (chosen.text === rejected.text) {
      counts.droppedIdentical++
      continue
    }
    const prompt = truncatePrompt(pair.prompt, options.maxPromptTokens, options)
    if (prompt.truncated) counts.promptTruncated++
    if (chosen.truncated || rejected.truncated) counts.responseTruncated++
    out.push({ ...pair, prompt: prompt.turns, chosen: chosen.text, rejected: rejected.text })
  }
  return { pairs: out, counts }
}

/** Keeps the start of a text: its first `budget` tokens. */
export const truncateResponse = (text: string, budget: number, codec: Codec): { text: string; truncated: boolean } => {
  const ids = codec.encode(text)
  return ids.length <= budget ? { text, truncated: false } : { text: decodeWithin(text, ids, budget, codec, "start"), truncated: true }
}

/**
 * The longest start (or end) of `text` within the first (or last) `budget` tokens of its `ids`
 * that re-encodes within `budget`. A cut inside a multi-byte character (a byte-level tokenizer on
 * Chinese text) decodes to U+FFFD, which is not the writer's text and may re-encode to more
 * tokens than the bytes it replaced, so the cut moves back token by token until it decodes to a
 * true prefix (or suffix) of the text.
 */
const decodeWithin = (text: string, ids: ReadonlyArray<number>, budget: number, codec: Codec, keep: "start" | "end"): string => {
  for (let k = budget; k > 0; k--) {
    const part = codec.decode(keep === "start" ? ids.slice(0, k) : ids.slice(ids.length - k))
    const inText = keep === "start" ? text.startsWith(part) : text.endsWith(part)
    if (inText && codec.encode(part).length <= budget) return part
  }
  return ""
}

/** Keeps the end of a conversation within `budget` tokens of content: latest turns whole, then the tail of one more. */
export const truncatePrompt = (prompt: ReadonlyArray<ChatTurn>, budget: number, codec: Codec): { turns: ChatTurn[]; truncated: boolean } => {
  const kept: ChatTurn[] = []
  let left = budget
  for (let i = prompt.length - 1; i >= 0; i--) {
    const turn = prompt[i]!
    const ids = codec.encode(turn.content)
    if (ids.length <= left) {
      kept.unshift(turn)
      left -= ids.length
      continue
    }
    const tail = left > 0 ? decodeWithin(turn.content, ids, left, codec, "end") : ""
    if (tail !== "") kept.unshift({ role: turn.role, content: tail })
    return { turns: kept, truncated: true }
  }
  return { turns: kept, truncated: false }
}
