import { Columns } from "@rlhf/core"
import { Schema } from "effect"
import { PreferenceRow } from "./PreferenceRow.ts"

/** A preference pair a cleaning stage dropped: the pair, why (`reason`), and optional detail. */
export const DroppedPreferenceRow = Schema.Struct({
  ...PreferenceRow.fields,
  reason: Columns.Utf8,
  detail: Columns.Nullable(Columns.Utf8)
})
