import { expectArray, expectObject, expectString } from "./Fields.ts"
import { FieldError } from "./ParseError.ts"
import type { ChatTurn, PreferencePair } from "./PreferencePair.ts"
import type { RecordDecoder } from "./RecordDecoder.ts"

/** A validated Open-Assistant message, roles already mapped to ChatTurn roles. */
type Message = { text: string; role: "user" | "assistant"; rank: number | null; deleted: boolean; replies: Message[] }

/**
 * Open-Assistant export trees, one per line: `{message_tree_id, prompt}` where every message has
 * `text`, `role` ("prompter" | "assistant"), `rank` (0 = best; null or absent when unranked) and
 * `replies`. Every two sibling assistant replies of different rank give a pair whose prompt is
 * the conversation path to them; deeper turns are visited too. Deleted messages are skipped, and
 * so are prompter siblings (ranking of user turns says nothing about assistant quality).
 * Rankings are aggregated over several annotators, so `annotator` is null.
 */
export const decodeOasst: RecordDecoder = (value, context) => {
  const tree = expectObject(value, "(record)")
  const root = decodeMessage(tree["prompt"], "prompt")
  if (root.role !== "user") throw new FieldError("prompt.role", `the tree root must be a "prompter" message`)
  const pairs: PreferencePair[] = []
  const visit = (message: Message, path: ChatTurn[]): void => {
    const here = [...path, { role: message.role, content: message.text }]
    const live = message.replies.filter((r) => !r.deleted)
    const ranked = live.filter((r) => r.role === "assistant" && r.rank !== null)
    for (let i = 0; i < ranked.length; i++) {
      for (let j = i + 1; j < ranked.length; j++) {
        const [a, b] = [ranked[i]!, ranked[j]!]
        if (a.rank === b.rank) continue // equal rank is no preference
        const [better, worse] = a.rank! < b.rank! ? [a, b] : [b, a]
        // Each pair gets its own copy of the prompt so that no two rows alias one array.
        pairs.push({ prompt: here.map((t) => ({ ...t })), chosen: better.text, rejected: worse.text, source: context.source, annotator: null, category: null })
      }
    }
    live.forEach((reply) => visit(reply, here))
  }
  visit(root, [])
  return pairs
}

const decodeMessage = (value: unknown, field: string): Message => {
  const message = expectObject(value, field)
  const role = expectString(message["role"], `${field}.role`)
  if (role !== "prompter" && role !== "assistant") {
    throw new FieldError(`${field}.role`, `unknown role ${JSON.stringify(role)}; expected "prompter" or "assistant"`)
  }
  const rank = message["rank"]
  if (rank !== undefined && rank !== null && !(Number.isInteger(rank) && (rank as number) >= 0)) {
    throw new FieldError(`${field}.rank`, `expected a non-negative integer or null, got ${JSON.stringify(rank)}`)
  }
  const replies = message["replies"] === undefined ? [] : expectArray(message["replies"], `${field}.replies`)
  return {
    text: expectString(message["text"], `${field}.text`),
    role: role === "prompter" ? "user" : "assistant",
    rank: (rank as number | null | undefined) ?? null,
    deleted: message["deleted"] === true,
    replies: replies.map((r, i) => decodeMessage(r, `${field}.replies[${i}]`))
  }
}
