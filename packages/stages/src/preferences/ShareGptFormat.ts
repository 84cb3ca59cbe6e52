import { expectArray, expectObject, expectString } from "./Fields.ts"
import { FieldError } from "./ParseError.ts"
import type { ChatTurn } from "./PreferencePair.ts"
import type { RecordDecoder } from "./RecordDecoder.ts"

// ShareGPT speaker names as LLaMA-Factory and MedicalGPT write them (a Map, so "constructor" is no speaker).
const roleOf = new Map<string, ChatTurn["role"]>([
  ["human", "user"], ["user", "user"],
  ["gpt", "assistant"], ["assistant", "assistant"], ["chatgpt", "assistant"], ["bard", "assistant"], ["model", "assistant"],
  ["system", "system"]
])

/**
 * ShareGPT / LLaMA-Factory DPO records `{conversations: [{from, value}], chosen, rejected, system?}`
 * where chosen/rejected are strings or `{from, value}` messages. A top-level `system` string
 * becomes a leading system turn.
 */
export const decodeShareGpt: RecordDecoder = (value, context) => {
  const record = expectObject(value, "(record)")
  const turns = expectArray(record["conversations"], "conversations").map((item, i) => decodeMessage(item, `conversations[${i}]`))
  const system = record["system"]
  const prompt = typeof system === "string" && system !== "" ? [{ role: "system" as const, content: system }, ...turns] : turns
  return [{
    prompt,
    chosen: decodeResponse(record["chosen"], "chosen"),
    rejected: decodeResponse(record["rejected"], "rejected"),
    source: context.source,
    annotator: null,
    category: null
  }]
}

const decodeMessage = (value: unknown, field: string): ChatTurn => {
  const message = expectObject(value, field)
  const from = expectString(message["from"], `${field}.from`)
  const role = roleOf.get(from.toLowerCase())
  if (role === undefined) {
    throw new FieldError(`${field}.from`, `unknown speaker ${JSON.stringify(from)}; expected human/user, gpt/assistant or system`)
  }
  return { role, content: expectString(message["value"], `${field}.value`) }
}

const decodeResponse = (value: unknown, field: string): string => {
  if (typeof value === "string") return value
  const message = decodeMessage(value, field)
  if (message.role !== "assistant") throw new FieldError(`${field}.from`, "a response must come from the assistant")
  return message.content
}
