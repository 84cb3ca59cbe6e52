import { Columns, Table } from "@rlhf/core"
import { Schema } from "effect"

/**
 * One metric in long format, the one shape every stage reports metrics in: a `name`, its
 * `value`, the training `step` it belongs to (null for one-off data statistics), and an
 * optional `group` (a drop reason, a length bucket, "before"/"after", …).
 */
export const MetricRow = Schema.Struct({
  name: Columns.Utf8,
  value: Columns.Float64,
  step: Columns.Nullable(Columns.Int32),
  group: Columns.Nullable(Columns.Utf8)
})

/** One metric row; `group` and `step` default to null. */
export const metric = (name: string, value: number, group: string | null = null, step: number | null = null): typeof MetricRow.Type =>
  ({ name, value, step, group })

/** A metrics table from metric rows. */
export const metricsTable = (rows: ReadonlyArray<typeof MetricRow.Type>): Table.Table<typeof MetricRow> =>
  Table.make(MetricRow, rows, "metrics")
