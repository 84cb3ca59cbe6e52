import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * One token of a byte-level BPE tokenizer table, exactly the columns of `@rlhf/nn/Tokenizer`'s
 * `tokenizerToTable`: `id`, `kind` ("special" | "byte" | "merge"), the token's `bytes`, and the
 * merged pair `left`/`right` (-1 unless a merge). Rows are in id order, and the table's schema
 * metadata carries `format` = "rlhf-bpe-v1"; build the tokenizer back with `tokenizerFromTable`.
 */
export const TokenizerRow = Schema.Struct({
  id: Columns.Int32,
  kind: Columns.Utf8,
  bytes: Columns.Binary,
  left: Columns.Int32,
  right: Columns.Int32
})
