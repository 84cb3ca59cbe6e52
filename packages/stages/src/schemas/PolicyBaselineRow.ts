import { Columns } from "@rlhf/core"
import { Schema } from "effect"
import { ChatPrompt } from "./ChatTurnRow.ts"

/**
 * The reference response of one RL prompt (ChatGLM-RLHF's reward variance reduction): `key`
 * identifies the prompt (see policy/PromptKeys), `refResponse` is the SFT model's greedy
 * response and `refReward` its reward r(x, y_ref); PPO then optimises r(x, y) − r(x, y_ref).
 */
export const PolicyBaselineRow = Schema.Struct({
  key: Columns.Utf8,
  prompt: ChatPrompt,
  refResponse: Columns.Utf8,
  refReward: Columns.Float64
})
