import type { PreferencePair } from "./PreferencePair.ts"

/** How strongly a set of pairs rewards length. */
export type LengthStats = {
  /** Number of pairs. */
  n: number
  /** Share of pairs with responses of unequal length where the longer one is chosen (NaN when there are none). */
  longerWinsShare: number
  /**
   * Pearson correlation between being preferred (y = +1 chosen, −1 rejected) and the length
   * difference to the other response (x = len(self) − len(other)), over both responses of every
   * pair. The symmetric data make means 0 and var(y) = 1, so with d = len(chosen) − len(rejected)
   * it equals mean(d) / sqrt(mean(d²)): the point-biserial correlation of preference with
   * length difference, +1 when the chosen is always longer by the same amount, 0 when length
   * says nothing on average (and 0 when all lengths are equal).
   */
  lengthPreferenceCorrelation: number
}

/** Length statistics of pairs given per-pair length differences d = len(chosen) − len(rejected). */
export const lengthStatsOfDifferences = (differences: ReadonlyArray<number>): LengthStats => {
  let sum = 0
  let squares = 0
  let longerWins = 0
  let unequal = 0
  for (const d of differences) {
    sum += d
    squares += d * d
    if (d !== 0) unequal++
    if (d > 0) longerWins++
  }
  const n = differences.length
  return {
    n,
    longerWinsShare: unequal === 0 ? Number.NaN : longerWins / unequal,
    lengthPreferenceCorrelation: squares === 0 ? 0 : sum / Math.sqrt(n * squares)
  }
}

/** Length statistics of pairs under a length measure (characters, tokens, …). */
export const lengthStats = (pairs: ReadonlyArray<PreferencePair>, length: (text: string) => number): LengthStats =>
  lengthStatsOfDifferences(pairs.map((p) => length(p.chosen) - length(p.rejected)))
