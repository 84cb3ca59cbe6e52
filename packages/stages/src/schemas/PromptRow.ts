import { Columns } from "@rlhf/core"
import { Schema } from "effect"
import { ChatPrompt } from "./ChatTurnRow.ts"

/** A prompt with no response: for PPO rollouts and evaluation. */
export const PromptRow = Schema.Struct({
  prompt: ChatPrompt,
  source: Columns.Utf8
})
