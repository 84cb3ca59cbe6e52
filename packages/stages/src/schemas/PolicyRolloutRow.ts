import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * One sampled response of a PPO rollout, with everything the update needs:
 * - `key`: the prompt's key (policy/PromptKeys); `round`: the global rollout round (0-based);
 * - `promptIds` (ending with <|assistant|>) and `responseIds` (ending with <|endoftext|> when
 *   `finished`), `response` as text;
 * - per response token: `logProbs` under the sampling policy, `refLogProbs` under the frozen
 *   reference (SFT) model, `values` of the critic (all the length of `responseIds`);
 * - `rawReward` = r(x, y) from the reward model, `baselineReward` = r(x, y_ref) (0 when the
 *   baseline is off) and `reward` = rawReward − baselineReward, the score PPO optimises.
 */
export const PolicyRolloutRow = Schema.Struct({
  key: Columns.Utf8,
  round: Columns.Int32,
  promptIds: Columns.List(Columns.Int32),
  responseIds: Columns.List(Columns.Int32),
  response: Columns.Utf8,
  finished: Columns.Bool,
  logProbs: Columns.List(Columns.Float32),
  refLogProbs: Columns.List(Columns.Float32),
  values: Columns.List(Columns.Float32),
  reward: Columns.Float64,
  rawReward: Columns.Float64,
  baselineReward: Columns.Float64
})
