/**
 * `Table<S>`: an Arrow table whose rows are described by an effect Schema.
 *
 * Tables are immutable; every operation returns a new table. Columns are built and read
 * column-wise (no row objects on the hot path of IPC), and rows are materialised only
 * when a stage asks for them.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Columns, Table } from "@rlhf/core"
 * const Row = Schema.Struct({ word: Columns.Utf8, count: Columns.Int32 })
 * const t = Table.make(Row, [{ word: "a", count: 2 }])
 * Table.toRows(t) // => [{ word: "a", count: 2 }]
 * ```
 */
import * as Arrow from "apache-arrow"
import { Effect, Schema, SchemaAST } from "effect"
import { toArrowSchema } from "./ArrowSchema.ts"
import { TableDecodeError } from "./Errors.ts"
import { type IpcChunks, ipcChunks } from "./IpcChunks.ts"

/** A row schema: an effect `Schema.Struct` of column schemas. */
export type RowSchema = Schema.Top & { readonly ast: SchemaAST.Objects; readonly Type: object }

/** The row type of a row schema. */
export type Row<S extends RowSchema> = S["Type"]

/** A typed, immutable Arrow table. */
export interface Table<S extends RowSchema = RowSchema> {
  readonly rowSchema: S
  readonly arrow: Arrow.Table
  readonly numRows: number
}

const wrap = <S extends RowSchema>(rowSchema: S, arrow: Arrow.Table): Table<S> => ({
  rowSchema,
  arrow,
  numRows: arrow.numRows
})

const toArrowValue = (value: unknown, type: Arrow.DataType): unknown => {
  if (value === undefined || value === null) return null
  if (Arrow.DataType.isInt(type) && type.bitWidth === 64) return BigInt(value as number)
  if (Arrow.DataType.isList(type) || Arrow.DataType.isFixedSizeList(type)) {
    const child = type.children[0]!.type
    const items = value as ArrayLike<unknown>
    if (!needsConversion(child)) return items
    return Array.from(items, (v) => toArrowValue(v, child))
  }
  if (Arrow.DataType.isStruct(type)) {
    const obj = value as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const f of type.children) out[f.name] = toArrowValue(obj[f.name], f.type)
    return out
  }
  return value
}

const needsConversion = (type: Arrow.DataType): boolean =>
  (Arrow.DataType.isInt(type) && type.bitWidth === 64) || Arrow.DataType.isList(type) ||
  Arrow.DataType.isFixedSizeList(type) || Arrow.DataType.isStruct(type)

const firstInvalidRow = (rowSchema: Schema.Top, rows: ReadonlyArray<unknown>, name: string): TableDecodeError | undefined => {
  const is = Schema.is(rowSchema as Schema.Codec<unknown>)
  for (let i = 0; i < rows.length; i++) {
    if (is(rows[i])) continue
    const result = Schema.decodeUnknownResult(rowSchema as Schema.Codec<unknown>)(rows[i])
    const issue = result._tag === "Failure" ? String(result.failure.message) : "invalid row"
    const column = /at \["([^"]+)"\]/.exec(issue)?.[1] ?? "<row>"
    const first = issue.split("\n")[0] ?? "a valid row"
    // Report the column's own value (null included), not the whole row; a missing key has no value to show.
    if (first === "Missing key") return new TableDecodeError({ table: name, column, row: i, expected: "a value", actual: "a missing key" })
    const value = column === "<row>" ? rows[i] : (rows[i] as Record<string, unknown>)[column]
    const actual = JSON.stringify(value) ?? String(value)
    return new TableDecodeError({ table: name, column, row: i, expected: first.replace(/^Expected /, "").replace(/, got .*$/, ""), actual })
  }
  return undefined
}

/**
 * Builds a table from row objects; throws a `TableDecodeError` naming the first bad row and column.
 */
export const make = <S extends RowSchema>(rowSchema: S, rows: ReadonlyArray<Row<S>>, name = "table"): Table<S> => {
  const error = firstInvalidRow(rowSchema, rows, name)
  if (error !== undefined) throw error
  return fromColumns(rowSchema, Object.fromEntries(
    toArrowSchema(rowSchema).fields.map((f) => [f.name, rows.map((r) => (r as Record<string, unknown>)[f.name])])
  ))
}

/** Builds a table from whole columns (arrays or typed arrays), without per-row validation. */
export const fromColumns = <S extends RowSchema>(
  rowSchema: S,
  columns: Record<string, ArrayLike<unknown>>
): Table<S> => {
  const schema = toArrowSchema(rowSchema)
  const vectors: Record<string, Arrow.Vector> = {}
  for (const f of schema.fields) {
    const values = columns[f.name] ?? []
    const converted = needsConversion(f.type) || f.nullable
      ? Array.from(values, (v) => toArrowValue(v, f.type))
      : values
    vectors[f.name] = Arrow.vectorFromArray(converted as never, f.type)
  }
  const length = Math.max(0, ...Object.values(vectors).map((v) => v.length))
  const children = schema.fields.map((f) => singleChunk(vectors[f.name]!))
  const data = Arrow.makeData({ type: new Arrow.Struct(schema.fields), length, nullCount: 0, children })
  return wrap(rowSchema, new Arrow.Table([new Arrow.RecordBatch(schema, data)]))
}

// A vector built from one array is normally one chunk; join the rare multi-chunk case.
const singleChunk = (vector: Arrow.Vector): Arrow.Data => {
  if (vector.data.length === 1) return vector.data[0]!
  return Arrow.vectorFromArray(vector.toArray() as never, vector.type).data[0]!
}

// The schema node a stored value is read against: through NullOr/optional unions and recursion.
const valueNode = (ast: SchemaAST.AST | undefined): SchemaAST.AST | undefined => {
  if (ast?._tag === "Suspend") return valueNode(ast.thunk())
  if (ast?._tag === "Union") {
    const nonNull = ast.types.filter((t) => t._tag !== "Null" && t._tag !== "Undefined")
    return nonNull.length === 1 ? valueNode(nonNull[0]) : ast
  }
  return ast
}

// `ast` (the column's schema, when known) says which nested struct keys are optional: those read back absent, not null.
const fromArrowValue = (value: unknown, type: Arrow.DataType, ast?: SchemaAST.AST): unknown => {
  if (value === null || value === undefined) return null
  if (Arrow.DataType.isInt(type) && type.bitWidth === 64) return Number(value as bigint)
  const node = valueNode(ast)
  if (Arrow.DataType.isList(type) || Arrow.DataType.isFixedSizeList(type)) {
    const child = type.children[0]!.type
    const vec = value as Arrow.Vector
    if (Arrow.DataType.isFloat(child) || (Arrow.DataType.isInt(child) && child.bitWidth !== 64)) {
      if (vec.nullCount === 0) return Array.from(vec.toArray() as ArrayLike<number>)
    }
    const item = node?._tag === "Arrays" ? node.rest[0] : undefined
    const out: unknown[] = []
    for (let i = 0; i < vec.length; i++) out.push(fromArrowValue(vec.get(i), child, item))
    return out
  }
  if (Arrow.DataType.isStruct(type)) {
    const row = value as Record<string, unknown>
    const props = node?._tag === "Objects" ? node.propertySignatures : []
    const out: Record<string, unknown> = {}
    for (const f of type.children) {
      const prop = props.find((p) => String(p.name) === f.name)?.type
      const v = fromArrowValue(row[f.name], f.type, prop)
      if (!(v === null && prop?.context?.isOptional === true)) out[f.name] = v
    }
    return out
  }
  return value
}

/** The values of one column as plain JS values. */
export const columnValues = <S extends RowSchema, K extends keyof Row<S> & string>(
  table: Table<S>,
  name: K
): Array<Row<S>[K]> => {
  const vector = table.arrow.getChild(name)
  if (vector === null) throw new TableDecodeError({ table: "table", column: name, row: null, expected: "a column", actual: "no such column" })
  const type = vector.type as Arrow.DataType
  if ((Arrow.DataType.isFloat(type) || (Arrow.DataType.isInt(type) && type.bitWidth !== 64)) && vector.nullCount === 0) {
    return Array.from(vector.toArray() as ArrayLike<number>) as Array<Row<S>[K]>
  }
  const ast = table.rowSchema.ast.propertySignatures.find((p) => String(p.name) === name)?.type
  const out: unknown[] = new Array(vector.length)
  for (let i = 0; i < vector.length; i++) out[i] = fromArrowValue(vector.get(i), type, ast)
  return out as Array<Row<S>[K]>
}

/** All rows as plain objects (optional keys that are null are left out). */
export const toRows = <S extends RowSchema>(table: Table<S>): Array<Row<S>> => {
  const fields = toArrowSchema(table.rowSchema).fields
  const optional = new Set(table.rowSchema.ast.propertySignatures
    .filter((ps) => ps.type.context?.isOptional === true).map((ps) => String(ps.name)))
  const columns = fields.map((f) => columnValues(table, f.name as never) as unknown[])
  const rows: Array<Record<string, unknown>> = new Array(table.numRows)
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, unknown> = {}
    fields.forEach((f, c) => {
      const v = columns[c]![i]
      if (!(v === null && optional.has(f.name))) row[f.name] = v
    })
    rows[i] = row
  }
  return rows as Array<Row<S>>
}

const typeMatches = (actual: Arrow.DataType, expected: Arrow.DataType): boolean =>
  Arrow.util.compareTypes(actual, expected) || String(actual) === String(expected)

/**
 * Checks an Arrow table against a row schema: every column present with the declared Arrow type,
 * and no nulls in a non-nullable column. Fails with a `TableDecodeError` naming the column (and row).
 */
export const fromArrow = <S extends RowSchema>(
  rowSchema: S,
  arrow: Arrow.Table,
  name = "table"
): Effect.Effect<Table<S>, TableDecodeError> =>
  Effect.suspend(() => {
    for (const f of toArrowSchema(rowSchema).fields) {
      const vector = arrow.getChild(f.name)
      if (vector === null) {
        return Effect.fail(new TableDecodeError({ table: name, column: f.name, row: null, expected: String(f.type), actual: "no such column" }))
      }
      if (!typeMatches(vector.type, f.type)) {
        return Effect.fail(new TableDecodeError({ table: name, column: f.name, row: null, expected: String(f.type), actual: String(vector.type) }))
      }
      if (!f.nullable && vector.nullCount > 0) {
        let row = 0
        while (row < vector.length && vector.isValid(row)) row++
        return Effect.fail(new TableDecodeError({ table: name, column: f.name, row, expected: String(f.type), actual: "null" }))
      }
    }
    return Effect.succeed(wrap(rowSchema, arrow))
  })

/** The same table with key/value metadata added to its Arrow schema (e.g. a model config). */
export const withMetadata = <S extends RowSchema>(table: Table<S>, metadata: Record<string, string>): Table<S> => {
  const merged = new Map(table.arrow.schema.metadata)
  for (const [k, v] of Object.entries(metadata)) merged.set(k, v)
  const schema = new Arrow.Schema(table.arrow.schema.fields, merged)
  return wrap(table.rowSchema, new Arrow.Table(schema, table.arrow.batches.map((b) => new Arrow.RecordBatch(schema, b.data))))
}

/** The table's schema metadata as a plain object. */
export const metadata = (table: Table): Record<string, string> => Object.fromEntries(table.arrow.schema.metadata)

/** Serialises to the Arrow IPC file format. */
export const toIPC = (table: Table): Uint8Array => Arrow.tableToIPC(table.arrow, "file")

export type { IpcChunks }

/**
 * The bytes of `toIPC(table)` as a list of pieces (mostly views of the table's own column buffers),
 * not joined into a new buffer: for writers that copy them somewhere anyway (the store).
 */
export const toIPCChunks = (table: Table): IpcChunks => ipcChunks(table.arrow)

/** Reads an Arrow IPC buffer and checks it against a row schema. */
export const fromIPC = <S extends RowSchema>(rowSchema: S, bytes: Uint8Array, name = "table") =>
  fromArrow(rowSchema, Arrow.tableFromIPC(bytes), name)
