import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * Reward-model accuracy on one `source` of preference pairs (or "overall"), against chance and
 * against the best length-only rule on the same pairs:
 * - `accuracy`: share of pairs scored chosen > rejected (a tie counts one half), with its 95%
 *   Wilson interval `accuracyLo`..`accuracyHi`;
 * - `lengthBaselineAccuracy`: the better of "prefer the longer response" and "prefer the shorter"
 *   (`lengthBaselineRule`), by response length in tokens (equal lengths count one half);
 * - `meanMargin`: mean of chosen − rejected score; `scoreMean`, `scoreStd`: over all 2n scores
 *   (population std); `scoreLengthCorrelation`: Pearson correlation of score and length over
 *   all 2n responses (null when either is constant).
 */
export const RewardEvalRow = Schema.Struct({
  source: Columns.Utf8,
  n: Columns.Int32,
  accuracy: Columns.Float64,
  accuracyLo: Columns.Float64,
  accuracyHi: Columns.Float64,
  lengthBaselineAccuracy: Columns.Float64,
  lengthBaselineRule: Columns.Utf8,
  meanMargin: Columns.Float64,
  scoreMean: Columns.Float64,
  scoreStd: Columns.Float64,
  scoreLengthCorrelation: Columns.Nullable(Columns.Float64)
})

/**
 * The reward-model scores of one preference pair, in input order: its `source`, the scores of
 * the chosen and rejected response, and their lengths in tokens (whole responses, before
 * truncation to the context).
 */
export const PairScoreRow = Schema.Struct({
  source: Columns.Utf8,
  chosenScore: Columns.Float64,
  rejectedScore: Columns.Float64,
  chosenLength: Columns.Int32,
  rejectedLength: Columns.Int32
})
