/** `truncate`: cuts preference pairs to a token budget, dropping pairs that become identical. */
import { Stage } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { truncatePairs } from "../preferences/Truncate.ts"
import { metric, metricsTable, MetricRow } from "../schemas/MetricRow.ts"
import { PreferenceRow, pairsOf, preferenceTable } from "../schemas/PreferenceRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { codecOf, tokenizerOf } from "./TokenizerInput.ts"

const budget = (defaultValue: number) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(defaultValue)))

/**
 * Truncates pairs to `maxPromptTokens` of prompt content (all turns; the latest turns are kept,
 * then the tail of one more) and `maxResponseTokens` per response (its start is kept), in tokens
 * of the `tokenizer` input without special tokens: leave a margin for chat-template tokens
 * (a role marker per turn, <|assistant|> and <|endoftext|>) below the model's context. A pair
 * whose responses are identical after the cut is dropped. `metrics`: pairs.input, pairs.kept,
 * promptTruncated, responseTruncated (among kept pairs) and droppedIdentical.
 */
export const Truncate = Stage.make({
  name: "truncate",
  version: "1",
  description: "truncates prompts (keeping the latest turns) and responses (keeping their start) to token budgets",
  inputs: { pairs: PreferenceRow, tokenizer: TokenizerRow },
  outputs: { pairs: PreferenceRow, metrics: MetricRow },
  params: Schema.Struct({ maxPromptTokens: budget(256), maxResponseTokens: budget(256) }),
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const codec = codecOf(yield* tokenizerOf(inputs.tokenizer))
      const pairs = pairsOf(inputs.pairs)
      const result = truncatePairs(pairs, { ...codec, ...params })
      const { promptTruncated, responseTruncated, droppedIdentical } = result.counts
      yield* Effect.logInfo(`kept ${result.pairs.length} of ${pairs.length}; prompts cut ${promptTruncated}, responses cut ${responseTruncated}, identical dropped ${droppedIdentical}`)
      return {
        pairs: preferenceTable(result.pairs),
        metrics: metricsTable([
          metric("pairs.input", pairs.length),
          metric("pairs.kept", result.pairs.length),
          metric("promptTruncated", promptTruncated),
          metric("responseTruncated", responseTruncated),
          metric("droppedIdentical", droppedIdentical)
        ])
      }
    })
})
