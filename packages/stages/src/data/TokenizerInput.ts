/** Reading a `tokenizer` input (a TokenizerRow table) back into a tokenizer, and measuring text with it. */
import type { Table } from "@rlhf/core"
import { StageInfo } from "@rlhf/core"
import { type Tokenizer, tokenizerFromTable } from "@rlhf/nn/Tokenizer"
import { Effect } from "effect"
import type { Codec } from "../preferences/Truncate.ts"
import type { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { TokenizerInputError } from "./DataErrors.ts"

/** The tokenizer stored in a tokenizer table, or a TokenizerInputError naming the node. */
export const tokenizerOf = (table: Table.Table<typeof TokenizerRow>): Effect.Effect<Tokenizer, TokenizerInputError, StageInfo> =>
  Effect.gen(function*() {
    const info = yield* StageInfo
    return yield* Effect.try({
      try: () => tokenizerFromTable(table.arrow),
      catch: (e) => new TokenizerInputError({ node: info.node, reason: (e as Error).message })
    })
  })

/**
 * A tokenizer as a text codec. Text is encoded without special tokens, as the chat template
 * encodes content, so data that happens to contain "<|endoftext|>" is measured as plain text.
 */
export const codecOf = (tok: Tokenizer): Codec => ({
  encode: (text) => Array.from(tok.encode(text, { allowSpecial: false })),
  decode: (ids) => tok.decode(ids)
})

/** The length of a text in tokens (content encoding: no special tokens). */
export const tokenLength = (tok: Tokenizer) => (text: string): number => tok.encode(text, { allowSpecial: false }).length
