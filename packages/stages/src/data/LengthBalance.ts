/**
 * `length-balance`: bucket-based length balancing of preference pairs (ChatGLM-RLHF), so that a
 * reward model cannot learn "longer is better" from the data.
 */
import { Stage } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { lengthBalance } from "../preferences/LengthBalance.ts"
import type { LengthStats } from "../preferences/LengthBias.ts"
import { lengthStats } from "../preferences/LengthBias.ts"
import { metric, metricsTable, MetricRow } from "../schemas/MetricRow.ts"
import { PreferenceRow, pairsOf, preferenceTable } from "../schemas/PreferenceRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { tokenizerOf, tokenLength } from "./TokenizerInput.ts"

const ascending = Schema.makeFilter<ReadonlyArray<number>>((edges) =>
  edges.every((e, i) => i === 0 || e > edges[i - 1]!) || "strictly ascending bucket edges, e.g. [0, 8, 32, 128]")

/** The label of the bucket [lo, hi) in metrics: "[0,8)", "[256,inf)". */
export const bucketLabel = (lo: number, hi: number): string => `[${lo},${hi === Infinity ? "inf" : hi})`

const statsMetrics = (stats: LengthStats, group: "before" | "after") => [
  metric("pairs", stats.n, group),
  metric("longerWinsShare", stats.longerWinsShare, group),
  metric("lengthPreferenceCorrelation", stats.lengthPreferenceCorrelation, group)
]

/**
 * Buckets pairs by |tokens(chosen) − tokens(rejected)| (lower edges `bucketEdges`, in tokens of
 * the response text under the `tokenizer` input) and, in every bucket, downsamples the larger of
 * "longer wins" and "longer loses" to the size of the smaller (which pairs stay depends on
 * `seed` and each pair's content); pairs of equal length are kept. `enabled: false` passes the
 * pairs through unchanged (the paper's ablation: `--set <node>.enabled=false`). `metrics`:
 * pairs, longerWinsShare and lengthPreferenceCorrelation before and after (group), "enabled",
 * and per bucket (group "[lo,hi)") bucket.longerWins, bucket.longerLoses, bucket.equalLength,
 * bucket.kept.
 */
export const LengthBalance = Stage.make({
  name: "length-balance",
  version: "1",
  description: "bucket-based length balancing of preference pairs (longer-wins share equalised per bucket)",
  inputs: { pairs: PreferenceRow, tokenizer: TokenizerRow },
  outputs: { pairs: PreferenceRow, metrics: MetricRow },
  params: Schema.Struct({
    bucketEdges: Schema.Array(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))).check(Schema.isMinLength(1), ascending)
      .pipe(Schema.withDecodingDefaultKey(Effect.succeed([0, 4, 8, 16, 32, 64, 128, 256]))),
    seed: Schema.Int.check(Schema.isInt32()).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))),
    enabled: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(true)))
  }),
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const length = tokenLength(yield* tokenizerOf(inputs.tokenizer))
      const pairs = pairsOf(inputs.pairs)
      if (!params.enabled) {
        const stats = lengthStats(pairs, length)
        yield* Effect.logInfo(`disabled: ${pairs.length} pairs passed through, longer wins ${stats.longerWinsShare.toFixed(3)}`)
        return { pairs: inputs.pairs, metrics: metricsTable([metric("enabled", 0), ...statsMetrics(stats, "before"), ...statsMetrics(stats, "after")]) }
      }
      const result = lengthBalance(pairs, { length, bucketEdges: params.bucketEdges, seed: params.seed })
      const { before, after, buckets } = result.report
      yield* Effect.logInfo(`kept ${result.kept.length} of ${pairs.length}; longer wins ${before.longerWinsShare.toFixed(3)} → ${after.longerWinsShare.toFixed(3)}`)
      return {
        pairs: preferenceTable(result.kept),
        metrics: metricsTable([
          metric("enabled", 1),
          ...statsMetrics(before, "before"),
          ...statsMetrics(after, "after"),
          ...buckets.flatMap((b) => {
            const group = bucketLabel(b.lo, b.hi)
            return [
              metric("bucket.longerWins", b.longerWins, group),
              metric("bucket.longerLoses", b.longerLoses, group),
              metric("bucket.equalLength", b.equalLength, group),
              metric("bucket.kept", b.kept, group)
            ]
          })
        ])
      }
    })
})
