/** `length-balance-per-source`: the length-balance stage applied within each source. */
import { Stage, Table } from "@rlhf/core"
import { LengthBalance } from "@rlhf/stages/data/LengthBalance"
import { MetricRow, metricsTable } from "@rlhf/stages/schemas/MetricRow"
import { PreferenceRow } from "@rlhf/stages/schemas/PreferenceRow"
import { TokenizerRow } from "@rlhf/stages/schemas/TokenizerRow"
import { Effect } from "effect"

/**
 * The length-balance stage applied to each source separately (same params), its pairs
 * concatenated in source order and its metric groups prefixed with the source. Balancing the
 * pooled pairs equalises "longer wins" over all sources together, and the sources lean opposite
 * ways (hh-rlhf harmless: the longer answer wins 44% of the time; Open-Assistant: 71%), so the
 * pooled result still lets length predict the label within each source — and a reward model then
 * learns length per source. Balanced per source, length predicts nothing within any of them.
 */
export const LengthBalancePerSource = Stage.make({
  name: "length-balance-per-source",
  version: "1",
  description: "bucket-based length balancing within each source",
  inputs: { pairs: PreferenceRow, tokenizer: TokenizerRow },
  outputs: { pairs: PreferenceRow, metrics: MetricRow },
  params: LengthBalance.params,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const rows = Table.toRows(inputs.pairs)
      const sources = [...new Set(rows.map((r) => r.source))].sort()
      const kept: Array<typeof PreferenceRow.Type> = []
      const metrics: Array<typeof MetricRow.Type> = []
      for (const source of sources) {
        const pairs = Table.make(PreferenceRow, rows.filter((r) => r.source === source), "pairs")
        const out = yield* LengthBalance.run({ inputs: { pairs, tokenizer: inputs.tokenizer }, params })
        kept.push(...Table.toRows(out.pairs))
        metrics.push(...Table.toRows(out.metrics).map((m) => ({ ...m, group: m.group === null ? source : `${source}/${m.group}` })))
      }
      return { pairs: Table.make(PreferenceRow, kept, "pairs"), metrics: metricsTable(metrics) }
    })
})

