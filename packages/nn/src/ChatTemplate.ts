/**
 * The one chat template every stage uses, and its truncation policy.
 *
 * A prompt is, per turn, the role marker (<|user|>, <|assistant|>, <|system|>) followed by the
 * content; an assistant turn also ends with <|endoftext|> (as a generated response does). The
 * prompt ends with <|assistant|>; the response that follows ends with <|endoftext|>.
 *
 * Truncation: a prompt keeps its last tokens (whole oldest turns are dropped first; if the last
 * turn alone is still too long its role marker is kept and its content cut from the left); a
 * response keeps its first tokens (cut from the right, losing its <|endoftext|>).
 * Content is encoded without special tokens, so user text cannot inject markers.
 */
import * as Tokenizer from "./Tokenizer.ts"

/** Speaker of a turn. */
export type Role = "user" | "assistant" | "system"

/** One message of a conversation. */
export interface Turn {
  readonly role: Role
  readonly content: string
}

const ROLE_TOKEN: Record<Role, number> = { user: Tokenizer.USER, assistant: Tokenizer.ASSISTANT, system: Tokenizer.SYSTEM }

/** Token ids of one turn. */
export const turnIds = (tok: Tokenizer.Tokenizer, turn: Turn): Int32Array => {
  const content = tok.encode(turn.content, { allowSpecial: false })
  const tail = turn.role === "assistant" ? [Tokenizer.EOT] : []
  return Int32Array.from([ROLE_TOKEN[turn.role], ...content, ...tail])
}

/** A formatted prompt with what truncation removed. */
export interface Prompt {
  readonly ids: Int32Array
  readonly truncated: boolean
  readonly droppedTurns: number
  readonly droppedTokens: number
}

const concat = (parts: ReadonlyArray<ArrayLike<number>>): Int32Array => {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) out.set(p, o), (o += p.length)
  return out
}

/** Prompt ids ending with <|assistant|>, cut to at most `maxTokens` by the policy above. */
export const formatPrompt = (tok: Tokenizer.Tokenizer, turns: ReadonlyArray<Turn>, options: { maxTokens?: number } = {}): Prompt => {
  const parts = turns.map((t) => turnIds(tok, t))
  const max = options.maxTokens ?? Infinity
  const fullLength = parts.reduce((n, p) => n + p.length, 1)
  let length = fullLength, dropped = 0
  while (length > max && parts.length - dropped > 1) length -= parts[dropped++]!.length
  let ids = concat([...parts.slice(dropped), [Tokenizer.ASSISTANT]])
  if (ids.length > max) {
    ids = max <= 1 ? ids.slice(ids.length - max) : concat([[ids[0]!], ids.slice(ids.length - (max - 1))])
  }
  return { ids, truncated: ids.length < fullLength, droppedTurns: dropped, droppedTokens: fullLength - ids.length }
}

/** A formatted response and whether it was cut. */
export interface Response {
  readonly ids: Int32Array
  readonly truncated: boolean
}

/** Response ids followed by <|endoftext|>, keeping the first `maxTokens`. */
export const formatResponse = (tok: Tokenizer.Tokenizer, text: string, options: { maxTokens?: number } = {}): Response => {
  const ids = concat([tok.encode(text, { allowSpecial: false }), [Tokenizer.EOT]])
  const max = options.maxTokens ?? Infinity
  return ids.length > max ? { ids: ids.slice(0, Math.max(0, max)), truncated: true } : { ids, truncated: false }
}

/** A prompt/response pair as token ids. */
export interface Example {
  readonly prompt: Int32Array
  readonly response: Int32Array
}

/** How many examples the context length forced to cut. */
export interface TruncationCounts {
  readonly prompts: number
  readonly responses: number
  readonly droppedTurns: number
}

/**
 * Formats conversations with their responses to fit `contextLength` tokens together. The prompt
 * may use up to max(maxPromptTokens, contextLength - response length) tokens (maxPromptTokens
 * defaults to half the context); the response gets the rest.
 */
export const formatExamples = (
  tok: Tokenizer.Tokenizer,
  examples: ReadonlyArray<{ readonly turns: ReadonlyArray<Turn>; readonly response: string }>,
  contextLength: number,
  options: { maxPromptTokens?: number } = {}
): { examples: Example[]; truncation: TruncationCounts } => {
  let prompts = 0, responses = 0, droppedTurns = 0
  const out = examples.map(({ turns, response }) => {
    const full = formatResponse(tok, response)
    const budget = Math.max(options.maxPromptTokens ?? Math.floor(contextLength / 2), contextLength - full.ids.length)
    const p = formatPrompt(tok, turns, { maxTokens: Math.min(budget, contextLength - 1) })
    const r = formatResponse(tok, response, { maxTokens: contextLength - p.ids.length })
    prompts += p.truncated ? 1 : 0
    responses += r.truncated ? 1 : 0
    droppedTurns += p.droppedTurns
    return { prompt: p.ids, response: r.ids }
  })
  return { examples: out, truncation: { prompts, responses, droppedTurns } }
}
