import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * A malformed record a reader skipped (under `skipInvalid`): the file as named in the params,
 * the 1-based line (or row), the field path, and what is wrong.
 */
export const RejectRow = Schema.Struct({
  file: Columns.Utf8,
  line: Columns.Int32,
  field: Columns.Utf8,
  reason: Columns.Utf8
})
