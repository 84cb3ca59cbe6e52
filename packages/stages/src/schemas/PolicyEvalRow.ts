import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * One evaluation prompt judged head to head: the prompt as text (the user turn; earlier turns as
 * "role: content" lines), both responses, the judge's score of each, and the `winner`:
 * "policy" | "baseline" | "tie" (a tie when the scores differ by at most the stage's `eps`).
 */
export const PolicyEvalRow = Schema.Struct({
  prompt: Columns.Utf8,
  source: Columns.Utf8,
  policy_response: Columns.Utf8,
  baseline_response: Columns.Utf8,
  policy_score: Columns.Float64,
  baseline_score: Columns.Float64,
  winner: Columns.Utf8
})

/** The winner labels of {@link PolicyEvalRow}. */
export const EVAL_WINNERS = ["policy", "baseline", "tie"] as const
