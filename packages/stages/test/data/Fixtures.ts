/** Small hand-made inputs for the data stages' tests. */
import { Table } from "@rlhf/core"
import { byteLevel, fromMerges, type Tokenizer, tokenizerToTable } from "@rlhf/nn/Tokenizer"
import { Effect } from "effect"
import type { PreferencePair } from "../../src/preferences/PreferencePair.ts"
import { preferenceTable } from "../../src/schemas/PreferenceRow.ts"
import type { MetricRow } from "../../src/schemas/MetricRow.ts"
import { TokenizerRow } from "../../src/schemas/TokenizerRow.ts"

/** A pair with a one-turn prompt and no annotator or category. */
export const pair = (prompt: string, chosen: string, rejected: string, source = "test"): PreferencePair =>
  ({ prompt: [{ role: "user", content: prompt }], chosen, rejected, source, annotator: null, category: null })

/** A preference table of pairs. */
export const pairsTable = (pairs: ReadonlyArray<PreferencePair>) => preferenceTable(pairs)

/** A tokenizer as the table a tokenizer-train stage outputs. */
export const tokenizerTable = (tok: Tokenizer = byteLevel()) => Effect.runSync(Table.fromArrow(TokenizerRow, tokenizerToTable(tok), "tokenizer"))

/** Byte ids: byte b has id 5 + b. */
const byte = (c: string) => 5 + c.charCodeAt(0)

/** A tokenizer whose one merge joins "aa": "aaaa" is 2 tokens, "bbb" is 3, so token lengths and character lengths disagree. */
export const aaTokenizer = (): Tokenizer => fromMerges([[byte("a"), byte("a")]])

/** A metrics table as `name/group` (or `name`) → value. */
export const metricsOf = (t: Table.Table<typeof MetricRow>): Record<string, number> =>
  Object.fromEntries(Table.toRows(t).map((r) => [`${r.name}${r.group === null ? "" : `/${r.group}`}`, r.value]))
