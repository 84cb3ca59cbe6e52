/** `corpus-mix`: plain-text documents plus the dialogues of preference pairs, as one pretraining corpus. */
import { Stage, Table } from "@rlhf/core"
import { PreferenceRow } from "@rlhf/stages/schemas/PreferenceRow"
import { TextRow } from "@rlhf/stages/schemas/TextRow"
import { Effect, Schema } from "effect"

/** The text of a conversation (prompt turns, then a response), as the model reads dialogue. */
const dialogue = (prompt: ReadonlyArray<{ role: string; content: string }>, response: string) =>
  [...prompt.map((t) => `${t.role === "user" ? "User" : t.role === "assistant" ? "Assistant" : "System"}: ${t.content}`), `Assistant: ${response}`].join("\n\n")

/**
 * The pretraining corpus: the plain-text corpus followed by the dialogues of the preference pairs
 * (each prompt with its chosen and with its rejected response, each distinct text once). No labels
 * enter: both responses are there, as plain text.
 */
export const CorpusMix = Stage.make({
  name: "corpus-mix",
  version: "1",
  description: "plain-text documents plus the dialogues of preference pairs, as one corpus",
  inputs: { texts: TextRow, pairs: PreferenceRow },
  outputs: { texts: TextRow },
  params: Schema.Struct({}),
  run: ({ inputs }) =>
    Effect.sync(() => {
      const seen = new Set<string>()
      const out = [...Table.columnValues(inputs.texts, "text")]
      for (const pair of Table.toRows(inputs.pairs)) {
        for (const response of [pair.chosen, pair.rejected]) {
          const text = dialogue(pair.prompt, response)
          if (!seen.has(text)) seen.add(text), out.push(text)
        }
      }
      return { texts: Table.fromColumns(TextRow, { text: out }) }
    })
})

