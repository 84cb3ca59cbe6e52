import type { ChatTurn, PreferencePair } from "./PreferencePair.ts"

/**
 * Canonical text for duplicate detection and prompt grouping: NFKC (full-width and
 * compatibility forms fold, which matters for the Chinese data), lower case, and runs of
 * whitespace collapsed to one space, trimmed.
 */
export const normalizeText = (text: string): string =>
  text.normalize("NFKC").toLowerCase().replace(/\s+/gu, " ").trim()

/** A prompt's identity: its turns' roles and normalised contents. Two pairs with equal keys answer the same prompt. */
export const promptKey = (prompt: ReadonlyArray<ChatTurn>): string =>
  prompt.map((turn) => `${turn.role}\u0001${normalizeText(turn.content)}`).join("\u0000")

/** A pair's identity for exact-duplicate detection: prompt, chosen and rejected, in that order. */
export const pairKey = (pair: PreferencePair): string =>
  `${promptKey(pair.prompt)}\u0002${normalizeText(pair.chosen)}\u0002${normalizeText(pair.rejected)}`
