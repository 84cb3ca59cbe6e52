import { Field, List, Struct, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from "apache-arrow"
import { FieldError } from "./ParseError.ts"
import type { ChatTurn, PreferencePair } from "./PreferencePair.ts"
import { chatRoles } from "./PreferencePair.ts"
import type { SourceContext } from "./RecordDecoder.ts"

const turnType = new Struct([new Field("role", new Utf8(), false), new Field("content", new Utf8(), false)])

/** The PreferencePair Arrow schema: `prompt` is List<Struct<role, content>>, the rest Utf8 (annotator, category nullable). */
export const preferenceArrowTypes = {
  prompt: new List(new Field("item", turnType, false)),
  chosen: new Utf8(),
  rejected: new Utf8(),
  source: new Utf8(),
  annotator: new Utf8(),
  category: new Utf8()
}

/** Encodes pairs as an Arrow IPC file (the format readPreferences reads back). */
export const preferencesToArrow = (pairs: ReadonlyArray<PreferencePair>): Uint8Array => {
  const t = preferenceArrowTypes
  const table = new Table({
    prompt: vectorFromArray(pairs.map((p) => p.prompt), t.prompt),
    chosen: vectorFromArray(pairs.map((p) => p.chosen), t.chosen),
    rejected: vectorFromArray(pairs.map((p) => p.rejected), t.rejected),
    source: vectorFromArray(pairs.map((p) => p.source), t.source),
    annotator: vectorFromArray(pairs.map((p) => p.annotator), t.annotator),
    category: vectorFromArray(pairs.map((p) => p.category), t.category)
  })
  return tableToIPC(table, "file")
}

/** One decoded Arrow row (row index is 0-based) or the field error found in it. */
export type ArrowRow = { row: number; pairs: PreferencePair[] } | { row: number; error: FieldError }

/**
 * Decodes an Arrow IPC file or stream with the PreferencePair schema. `source`, `annotator` and
 * `category` columns may be absent. A missing required column is an error of the whole file
 * (thrown as a FieldError); a bad value an error of its row.
 */
export const decodeArrow = (bytes: Uint8Array, context: SourceContext): ArrowRow[] => {
  const table = tableFromIPC(bytes)
  const column = (name: string, required: boolean) => {
    const child = table.getChild(name)
    if (child === null && required) throw new FieldError(name, `the Arrow table has no "${name}" column`)
    return child
  }
  const [prompt, chosen, rejected] = [column("prompt", true)!, column("chosen", true)!, column("rejected", true)!]
  const [source, annotator, category] = [column("source", false), column("annotator", false), column("category", false)]
  const rows: ArrowRow[] = []
  for (let row = 0; row < table.numRows; row++) {
    try {
      const recordSource = nullableString(source?.get(row), "source")
      rows.push({ row, pairs: [{
        prompt: decodeTurns(prompt.get(row)),
        chosen: requiredString(chosen.get(row), "chosen"),
        rejected: requiredString(rejected.get(row), "rejected"),
        source: context.recordMayOverride && recordSource !== null ? recordSource : context.source,
        annotator: nullableString(annotator?.get(row), "annotator"),
        category: nullableString(category?.get(row), "category")
      }] })
    } catch (error) {
      if (!(error instanceof FieldError)) throw error
      rows.push({ row, error })
    }
  }
  return rows
}

const decodeTurns = (value: unknown): ChatTurn[] => {
  if (value === null || value === undefined) throw new FieldError("prompt", "expected a list of turns, got null")
  return [...(value as Iterable<{ role: unknown; content: unknown } | null>)].map((turn, i) => {
    const role = requiredString(turn?.role, `prompt[${i}].role`)
    if (!(chatRoles as ReadonlyArray<string>).includes(role)) throw new FieldError(`prompt[${i}].role`, `unknown role ${JSON.stringify(role)}`)
    return { role: role as ChatTurn["role"], content: requiredString(turn?.content, `prompt[${i}].content`) }
  })
}

const requiredString = (value: unknown, field: string): string => {
  if (typeof value !== "string") throw new FieldError(field, `expected a string, got ${value === null || value === undefined ? "null" : typeof value}`)
  return value
}

const nullableString = (value: unknown, field: string): string | null =>
  value === null || value === undefined ? null : requiredString(value, field)
