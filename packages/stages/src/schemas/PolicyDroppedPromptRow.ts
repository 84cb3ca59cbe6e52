import { Columns } from "@rlhf/core"
import { Schema } from "effect"
import { PromptRow } from "./PromptRow.ts"

/**
 * A prompt prompt-filter dropped: its K sampled responses' rewards varied too little to teach
 * PPO anything. `variance` is the population variance of the K rewards, `rewardMean` their mean.
 */
export const PolicyDroppedPromptRow = Schema.Struct({
  ...PromptRow.fields,
  variance: Columns.Float64,
  rewardMean: Columns.Float64
})
