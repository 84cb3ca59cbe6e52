import { Columns } from "@rlhf/core"
import { Schema } from "effect"
import { ChatPrompt } from "./ChatTurnRow.ts"

/** One supervised fine-tuning demonstration: the response to imitate for a prompt. */
export const SftRow = Schema.Struct({
  prompt: ChatPrompt,
  response: Columns.Utf8,
  source: Columns.Utf8
})
