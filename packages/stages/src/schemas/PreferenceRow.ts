import { Columns, type Row, Table } from "@rlhf/core"
import { Schema } from "effect"
import type { ChatTurn, PreferencePair } from "../preferences/PreferencePair.ts"
import { chatRoles } from "../preferences/PreferencePair.ts"
import { ChatPrompt } from "./ChatTurnRow.ts"

/**
 * One preference judgement: for `prompt`, `chosen` was preferred over `rejected`.
 * `annotator` and `category` are null where the source does not record them.
 */
export const PreferenceRow = Schema.Struct({
  prompt: ChatPrompt,
  chosen: Columns.Utf8,
  rejected: Columns.Utf8,
  source: Columns.Utf8,
  annotator: Columns.Nullable(Columns.Utf8),
  category: Columns.Nullable(Columns.Utf8)
})

/** A table of preference pairs. */
export const preferenceTable = (pairs: ReadonlyArray<PreferencePair>): Table.Table<typeof PreferenceRow> =>
  Table.make(PreferenceRow, pairs, "pairs")

/**
 * The pairs of a preference table, as the pure preference functions take them. Fails naming the
 * row when a prompt turn has a role other than system, user or assistant.
 */
export const pairsOf = (table: Table.Table<typeof PreferenceRow>): PreferencePair[] =>
  Table.toRows(table).map((row, i) => ({
    prompt: checkedTurns(row.prompt, i),
    chosen: row.chosen,
    rejected: row.rejected,
    source: row.source,
    annotator: row.annotator,
    category: row.category
  }))

/** Chat turns of row `row`, with their roles checked. */
export const checkedTurns = (turns: Row<typeof PreferenceRow>["prompt"], row: number): ChatTurn[] =>
  turns.map((turn, t) => {
    if (!(chatRoles as ReadonlyArray<string>).includes(turn.role)) {
      throw new Error(`row ${row}: prompt[${t}].role is ${JSON.stringify(turn.role)}; expected one of ${chatRoles.join(", ")}`)
    }
    return { role: turn.role as ChatTurn["role"], content: turn.content }
  })
