import { expectObject, expectString } from "./Fields.ts"
import { FieldError } from "./ParseError.ts"
import type { ChatTurn } from "./PreferencePair.ts"
import type { RecordDecoder } from "./RecordDecoder.ts"

const assistantMarker = "\n\nAssistant:"
const turnMarker = /\n\n(Human|Assistant):/g

/**
 * Anthropic HH-RLHF records `{chosen, rejected}`: two whole transcripts that share the
 * conversation and differ in the final assistant reply. The prompt is the longest common prefix
 * cut back to the end of its last `\n\nAssistant:`. Cutting each text at its own last marker
 * mis-splits rows whose reply itself contains `\n\nAssistant:` (4 of 1,789 in the harmless test
 * split), which would leak part of the reply into the prompt. Turn contents and replies are trimmed.
 */
export const decodeHh: RecordDecoder = (value, context) => {
  const record = expectObject(value, "(record)")
  const chosen = expectString(record["chosen"], "chosen")
  const rejected = expectString(record["rejected"], "rejected")
  const shared = chosen.slice(0, commonPrefixLength(chosen, rejected))
  const marker = shared.lastIndexOf(assistantMarker)
  if (marker < 0) throw new FieldError("chosen", `chosen and rejected share no "\\n\\nAssistant:" turn before they differ`)
  const cut = marker + assistantMarker.length
  return [{
    prompt: parseTranscript(chosen.slice(0, marker)),
    chosen: chosen.slice(cut).trim(),
    rejected: rejected.slice(cut).trim(),
    source: context.source,
    annotator: null,
    category: null
  }]
}

const commonPrefixLength = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i
}

/** Splits `\n\nHuman: …\n\nAssistant: …` text into turns; it must open with a Human turn. */
export const parseTranscript = (text: string): ChatTurn[] => {
  const turns: ChatTurn[] = []
  const matches = [...text.matchAll(turnMarker)]
  if (matches[0]?.index !== 0 || matches[0][1] !== "Human") {
    throw new FieldError("chosen", `transcript must start with "\\n\\nHuman:"`)
  }
  matches.forEach((m, i) => {
    const end = matches[i + 1]?.index ?? text.length
    turns.push({ role: m[1] === "Human" ? "user" : "assistant", content: text.slice(m.index + m[0].length, end).trim() })
  })
  return turns
}
