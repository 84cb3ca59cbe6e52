import { expectArray, expectObject, expectString, optionalString } from "./Fields.ts"
import { FieldError } from "./ParseError.ts"
import type { ChatTurn } from "./PreferencePair.ts"
import { chatRoles } from "./PreferencePair.ts"
import type { RecordDecoder } from "./RecordDecoder.ts"

/**
 * Generic records `{prompt, chosen, rejected, source?, annotator?, category?}`. `prompt` is a
 * string (one user turn) or chat turns `[{role, content}]`; `chosen`/`rejected` are strings or,
 * as in TRL's conversational format, a single assistant turn `[{role: "assistant", content}]`.
 */
export const decodeGeneric: RecordDecoder = (value, context) => {
  const record = expectObject(value, "(record)")
  const recordSource = optionalString(record["source"], "source")
  return [{
    prompt: decodePrompt(record["prompt"]),
    chosen: decodeResponse(record["chosen"], "chosen"),
    rejected: decodeResponse(record["rejected"], "rejected"),
    source: context.recordMayOverride && recordSource !== null ? recordSource : context.source,
    annotator: optionalString(record["annotator"], "annotator"),
    category: optionalString(record["category"], "category")
  }]
}

const decodePrompt = (value: unknown): ChatTurn[] =>
  typeof value === "string" ? [{ role: "user", content: value }] : decodeTurns(value, "prompt")

/** Validates `[{role, content}]` chat turns. */
export const decodeTurns = (value: unknown, field: string): ChatTurn[] =>
  expectArray(value, field).map((item, i) => {
    const turn = expectObject(item, `${field}[${i}]`)
    const role = expectString(turn["role"], `${field}[${i}].role`)
    if (!(chatRoles as ReadonlyArray<string>).includes(role)) {
      throw new FieldError(`${field}[${i}].role`, `unknown role ${JSON.stringify(role)}; expected one of ${chatRoles.join(", ")}`)
    }
    return { role: role as ChatTurn["role"], content: expectString(turn["content"], `${field}[${i}].content`) }
  })

const decodeResponse = (value: unknown, field: string): string => {
  if (typeof value === "string") return value
  const turns = decodeTurns(value, field)
  const only = turns[0]
  if (turns.length !== 1 || only === undefined || only.role !== "assistant") {
    throw new FieldError(field, "expected a string or exactly one assistant turn")
  }
  return only.content
}
