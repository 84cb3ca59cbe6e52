import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * AdamW state of one parameter tensor, exactly the columns of `@rlhf/nn/AdamW`'s `stateToTable`:
 * `name`, `shape`, first and second moments `m` and `v`. The table's schema metadata carries
 * `format` = "rlhf-adamw-v1", the step count `step` and the AdamW `config` (JSON). An empty table
 * (no rows, no metadata) means "no state yet": the consumer starts a fresh optimiser.
 */
export const PolicyOptimizerRow = Schema.Struct({
  name: Columns.Utf8,
  shape: Columns.List(Columns.Int32),
  m: Columns.List(Columns.Float32),
  v: Columns.List(Columns.Float32)
})
