import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * One-row summary of a head-to-head evaluation (policy vs. baseline):
 * - `prompts`: judged prompts; `win`, `tie`, `loss`: shares of them (policy's view, sum 1);
 * - `moreWins` = 100·(win − loss), in points, the paper's headline number;
 * - `policyScore`, `baselineScore`: mean judge scores;
 * - `policyLength`, `baselineLength`: mean response length in tokens (without <|endoftext|>);
 * - `policyPerplexity`, `baselinePerplexity`: perplexity of each model on SFT demonstrations
 *   (response tokens), the measure of forgetting; `sftExamples`: how many were used.
 */
export const PolicyEvalSummaryRow = Schema.Struct({
  prompts: Columns.Int32,
  win: Columns.Float64,
  tie: Columns.Float64,
  loss: Columns.Float64,
  moreWins: Columns.Float64,
  policyScore: Columns.Float64,
  baselineScore: Columns.Float64,
  policyLength: Columns.Float64,
  baselineLength: Columns.Float64,
  policyPerplexity: Columns.Float64,
  baselinePerplexity: Columns.Float64,
  sftExamples: Columns.Int32
})
