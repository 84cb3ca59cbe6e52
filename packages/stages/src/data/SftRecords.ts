/**
 * Decoding SFT demonstrations from JSON records: `{prompt, response}` (prompt a string or chat
 * turns) and Alpaca-style `{instruction, input, output, system?, history?}` as LLaMA-Factory
 * writes them.
 */
import { expectArray, expectObject, expectString, optionalString } from "../preferences/Fields.ts"
import { decodeTurns } from "../preferences/GenericFormat.ts"
import { FieldError } from "../preferences/ParseError.ts"
import type { ChatTurn } from "../preferences/PreferencePair.ts"

/** One decoded demonstration. */
export type SftExample = { prompt: ChatTurn[]; response: string }

/** A prompt field: a string (one user turn) or `[{role, content}]` chat turns. */
export const decodePromptField = (value: unknown, field: string): ChatTurn[] =>
  typeof value === "string" ? [{ role: "user", content: value }] : decodeTurns(value, field)

/** The user message of an Alpaca record: the instruction, then the input (if any) on a new line, as LLaMA-Factory joins them. */
export const alpacaQuery = (record: Record<string, unknown>): string => {
  const instruction = expectString(record["instruction"], "instruction")
  const input = optionalString(record["input"], "input") ?? ""
  return input === "" ? instruction : `${instruction}\n${input}`
}

/** An Alpaca record's earlier exchanges, `history: [[query, answer], …]`, as chat turns. */
const alpacaHistory = (value: unknown): ChatTurn[] => {
  if (value === undefined || value === null) return []
  return expectArray(value, "history").flatMap((item, i) => {
    const exchange = expectArray(item, `history[${i}]`)
    if (exchange.length !== 2) throw new FieldError(`history[${i}]`, `expected [query, answer], got ${exchange.length} items`)
    return [
      { role: "user" as const, content: expectString(exchange[0], `history[${i}][0]`) },
      { role: "assistant" as const, content: expectString(exchange[1], `history[${i}][1]`) }
    ]
  })
}

/** Decodes one SFT record; throws FieldError naming the field when it is malformed. */
export const decodeSftRecord = (value: unknown): SftExample => {
  const record = expectObject(value, "(record)")
  if ("response" in record || ("prompt" in record && !("output" in record))) {
    return { prompt: decodePromptField(record["prompt"], "prompt"), response: expectString(record["response"], "response") }
  }
  if ("instruction" in record || "output" in record) {
    const system = optionalString(record["system"], "system")
    return {
      prompt: [...(system === null || system === "" ? [] : [{ role: "system" as const, content: system }]), ...alpacaHistory(record["history"]), { role: "user", content: alpacaQuery(record) }],
      response: expectString(record["output"], "output")
    }
  }
  throw new FieldError("(record)", `expected {prompt, response} or {instruction, input, output}; got keys ${Object.keys(record).join(", ") || "(none)"}`)
}

/** Replaces `{{key}}` placeholders (as in LLaMA-Factory's identity.json) in every text of an example. */
export const fillPlaceholders = (example: SftExample, values: Readonly<Record<string, string>>): SftExample => {
  const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole)
  return { prompt: example.prompt.map((t) => ({ role: t.role, content: fill(t.content) })), response: fill(example.response) }
}
