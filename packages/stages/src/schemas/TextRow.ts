import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/** One document of plain text (pretraining corpus). */
export const TextRow = Schema.Struct({ text: Columns.Utf8 })
