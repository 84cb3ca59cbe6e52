/**
 * Small helpers for building Arrow tables column by column with schema metadata
 * (tfjs tensors and tokenizers are stored as tables; see Weights.ts, Tokenizer.ts, AdamW.ts).
 */
import * as arrow from "apache-arrow"

/** A table from named column data (all the same length) with string metadata on the schema. */
export const makeTable = (columns: ReadonlyArray<readonly [string, arrow.Data]>, metadata: Record<string, string>): arrow.Table => {
  const fields = columns.map(([name, data]) => new arrow.Field(name, data.type, false))
  const schema = new arrow.Schema(fields, new Map(Object.entries(metadata)))
  const length = columns[0]?.[1].length ?? 0
  const data = arrow.makeData({ type: new arrow.Struct(fields), length, nullCount: 0, children: columns.map(([, d]) => d) })
  return new arrow.Table(schema, new arrow.RecordBatch(schema, data))
}

/** List<child type> data from per-row typed arrays, without copying element by element. */
export const listData = <T extends arrow.Int32 | arrow.Float32>(type: T, rows: ReadonlyArray<ArrayLike<number>>): arrow.Data<arrow.List<T>> => {
  const offsets = new Int32Array(rows.length + 1)
  rows.forEach((r, i) => (offsets[i + 1] = offsets[i]! + r.length))
  const flat = type instanceof arrow.Int32 ? new Int32Array(offsets[rows.length]!) : new Float32Array(offsets[rows.length]!)
  rows.forEach((r, i) => flat.set(r, offsets[i]!))
  const child = arrow.makeData({ type, length: flat.length, nullCount: 0, data: flat } as never) as unknown as arrow.Data<T>
  const listType = new arrow.List(new arrow.Field("item", type, false))
  return arrow.makeData({ type: listType, length: rows.length, nullCount: 0, valueOffsets: offsets, child })
}

/** A required column of a table, with an error naming it when missing. */
export const column = (table: arrow.Table, name: string, what: string): arrow.Vector => {
  const c = table.getChild(name)
  if (c === null) throw new Error(`${what}: table has no column "${name}" (columns: ${table.schema.fields.map((f) => f.name).join(", ")})`)
  return c
}

/** The values of one List<number> cell as a typed array. */
export const listCell = (col: arrow.Vector, row: number): ArrayLike<number> => {
  const v = col.get(row) as arrow.Vector | null
  if (v === null) throw new Error(`row ${row} has no list value`)
  return v.toArray() as ArrayLike<number>
}
