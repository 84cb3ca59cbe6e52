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
  return ids.length <= budget ? { text, truncated: false } : { text: codec.decode(ids.slice(0, budget)), truncated: true }
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
    if (left > 0) kept.unshift({ role: turn.role, content: codec.decode(ids.slice(ids.length - left)) })
    return { turns: kept, truncated: true }
  }
  return { turns: kept, truncated: false }
}
