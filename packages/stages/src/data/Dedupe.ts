/**
 * `dedupe`: cleans preference pairs: short prompts, ties, exact and near duplicates, and
 * preference cycles, each dropped pair kept aside with its reason.
 */
import { Stage, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import type { DropReason, DroppedPair } from "../preferences/Dedupe.ts"
import { dedupe } from "../preferences/Dedupe.ts"
import { DroppedPreferenceRow } from "../schemas/DroppedPreferenceRow.ts"
import { metric, metricsTable, MetricRow } from "../schemas/MetricRow.ts"
import { PreferenceRow, pairsOf, preferenceTable } from "../schemas/PreferenceRow.ts"

/** Every drop reason, in the order dedupe checks them. */
export const dropReasons: ReadonlyArray<DropReason> = ["short-prompt", "tie", "exact-duplicate", "near-duplicate", "cycle"]

const int = (defaultValue: number, minimum: number) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(minimum)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(defaultValue)))

/**
 * Drops, for the first reason that applies: prompts shorter than `minPromptChars` (normalised;
 * "short-prompt"), chosen equal to rejected ("tie"), repeats of an earlier pair
 * ("exact-duplicate"), pairs whose prompt, chosen and rejected each reach shingle Jaccard
 * `nearDuplicateThreshold` with an earlier kept pair ("near-duplicate"; found by MinHash/LSH
 * with `numPerm` permutations seeded by `seed` over `shingleSize`-character or -word shingles;
 * a threshold above 1 turns it off), and pairs inside a cyclic preference among one prompt's
 * responses ("cycle"). Outputs `kept` (in input order), `dropped` (with `reason`, and `detail`
 * naming the input row and, for duplicates, the row it repeats), and `metrics`: pairs.input,
 * pairs.kept, and pairs.dropped per reason (group), zeros included.
 */
export const Dedupe = Stage.make({
  name: "dedupe",
  version: "1",
  description: "drops short prompts, ties, exact/near duplicates and preference cycles",
  inputs: { pairs: PreferenceRow },
  outputs: { kept: PreferenceRow, dropped: DroppedPreferenceRow, metrics: MetricRow },
  // MinHash over thousands of pairs is seconds of pure JavaScript: on a worker thread it runs
  // beside other stages and leaves the runner (scheduling, progress) responsive.
  isolate: "thread",
  params: Schema.Struct({
    nearDuplicateThreshold: Schema.Number.check(Schema.isGreaterThan(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0.9))),
    minPromptChars: int(1, 0),
    shingleSize: int(5, 1),
    shingleUnit: Schema.Literals(["char", "word"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("char" as const))),
    numPerm: int(128, 1),
    seed: Schema.Int.check(Schema.isInt32()).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0)))
  }),
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const pairs = pairsOf(inputs.pairs)
      const result = dedupe(pairs, params)
      yield* Effect.logInfo(`kept ${result.kept.length} of ${pairs.length}; dropped ${dropReasons.map((r) => `${r} ${result.counts[r]}`).join(", ")}`)
      return {
        kept: preferenceTable(result.kept),
        dropped: Table.make(DroppedPreferenceRow, result.dropped.map(droppedRow), "dropped"),
        metrics: metricsTable([
          metric("pairs.input", pairs.length),
          metric("pairs.kept", result.kept.length),
          ...dropReasons.map((reason) => metric("pairs.dropped", result.counts[reason], reason))
        ])
      }
    })
})

const droppedRow = ({ index, duplicateOf, reason, ...pair }: DroppedPair): typeof DroppedPreferenceRow.Type => ({
  ...pair,
  reason,
  detail: duplicateOf === undefined ? `input row ${index}` : `input row ${index} repeats input row ${duplicateOf}`
})
