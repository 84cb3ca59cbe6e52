/**
 * Tables: the Schema ↔ Arrow mapping, IPC round trips over every column kind, and decode errors.
 */
import * as Arrow from "apache-arrow"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ArrowSchema, Columns, SchemaMappingError, Table, TableDecodeError } from "../src/index.ts"

/** A column kind the property tests draw from: its schema, its values, and the Arrow type it must map to. */
interface Spec {
  readonly schema: Schema.Top
  readonly value: fc.Arbitrary<unknown>
  /** The expected Arrow type in `render`'s notation (a `?` marks a nullable child field). */
  readonly arrow: string
  /** Whether the schema itself admits null (NullOr), which makes its field nullable. */
  readonly admitsNull: boolean
}

// Arrow's own `toString` leaves out child nullability, so render types with it spelled out.
const render = (type: Arrow.DataType): string => {
  if (Arrow.DataType.isList(type)) return `List<${renderChild(type.children[0]!)}>`
  if (Arrow.DataType.isFixedSizeList(type)) return `FixedSizeList[${type.listSize}]<${renderChild(type.children[0]!)}>`
  if (Arrow.DataType.isStruct(type)) return `Struct<{${type.children.map((f) => `${f.name}:${renderChild(f)}`).join(", ")}}>`
  return String(type)
}
const renderChild = (field: Arrow.Field): string => `${field.nullable ? "?" : ""}${render(field.type)}`
const renderSchema = (schema: Arrow.Schema): string => render(new Arrow.Struct(schema.fields))

const text = fc.oneof(fc.string({ unit: "binary", maxLength: 12 }), fc.string({ unit: "grapheme", maxLength: 6 }))
const leaf = (schema: Schema.Top, value: fc.Arbitrary<unknown>, arrow: string): Spec => ({ schema, value, arrow, admitsNull: false })
const stages = ["draft", "final", "ünïcødé ✓"] as const

const leaves: ReadonlyArray<Spec> = [
  leaf(Columns.Utf8, text, "Utf8"),
  leaf(Schema.String, text, "Utf8"),
  // fc.float draws exactly the float32-representable values, incl. -0, ±Infinity and NaN.
  leaf(Columns.Float32, fc.float(), "Float32"),
  leaf(Columns.Float64, fc.double(), "Float64"),
  leaf(Schema.Number, fc.double(), "Float64"),
  leaf(Columns.Int32, fc.integer(), "Int32"),
  leaf(Columns.Int64, fc.maxSafeInteger(), "Int64"),
  leaf(Columns.Bool, fc.boolean(), "Bool"),
  leaf(Schema.Boolean, fc.boolean(), "Bool"),
  leaf(Columns.Binary, fc.uint8Array({ maxLength: 16 }), "Binary"),
  leaf(Schema.Uint8Array, fc.uint8Array({ maxLength: 16 }), "Binary"),
  leaf(Schema.Literals(stages), fc.constantFrom(...stages), "Utf8"),
  leaf(Schema.Literal("only"), fc.constant("only"), "Utf8")
]

const vectorSpec: fc.Arbitrary<Spec> = fc.integer({ min: 1, max: 5 }).map((n) =>
  leaf(Columns.Vector(n), fc.array(fc.float(), { minLength: n, maxLength: n }), `FixedSizeList[${n}]<Float32>`)
)
const leafSpec: fc.Arbitrary<Spec> = fc.oneof(fc.constantFrom(...leaves), vectorSpec)

const listOf = (item: Spec, useColumns: boolean): Spec => ({
  schema: useColumns ? Columns.List(item.schema) : Schema.Array(item.schema),
  value: fc.array(item.value, { maxLength: 3 }),
  arrow: `List<${item.admitsNull ? "?" : ""}${item.arrow}>`,
  admitsNull: false
})

const nullable = (item: Spec, useColumns: boolean): Spec =>
  item.admitsNull ? item : {
    schema: useColumns ? Columns.Nullable(item.schema) : Schema.NullOr(item.schema),
    value: fc.option(item.value, { nil: null, freq: 3 }),
    arrow: item.arrow,
    admitsNull: true
  }

const names = ["a", "b_2", "Ä", "with space", "ключ", "z"] as const

interface FieldSpec {
  readonly name: string
  readonly spec: Spec
  readonly optional: boolean
}

const structOf = (fields: ReadonlyArray<FieldSpec>): Spec => {
  // An optional key that also admits null could not tell null from absent, so only non-null specs are optional.
  const optional = (f: FieldSpec) => f.optional && !f.spec.admitsNull
  return {
    schema: Schema.Struct(Object.fromEntries(fields.map((f) => [f.name, optional(f) ? Schema.optionalKey(f.spec.schema) : f.spec.schema]))),
    value: fc.record(Object.fromEntries(fields.map((f) => [f.name, f.spec.value])), {
      requiredKeys: fields.filter((f) => !optional(f)).map((f) => f.name),
      noNullPrototype: true
    }),
    arrow: `Struct<{${fields.map((f) => `${f.name}:${f.spec.admitsNull || optional(f) ? "?" : ""}${f.spec.arrow}`).join(", ")}}>`,
    admitsNull: false
  }
}

const fieldsOf = (spec: fc.Arbitrary<Spec>, maxLength: number) =>
  fc.uniqueArray(fc.record({ name: fc.constantFrom(...names), spec, optional: fc.boolean() }), {
    minLength: 1,
    maxLength,
    selector: (f) => f.name
  })

// Counterexamples print the spec as its Arrow type rather than as a dump of arbitraries.
const printable = (spec: Spec): Spec => Object.assign(Object.create(null) as object, spec, { [fc.toStringMethod]: () => spec.arrow }) as Spec

/** Column kinds nested up to `depth` levels of lists, structs and nullables. */
const specOf = (depth: number): fc.Arbitrary<Spec> => {
  if (depth === 0) return leafSpec
  const inner = specOf(depth - 1)
  return fc.oneof(
    { arbitrary: leafSpec, weight: 3 },
    { arbitrary: fc.tuple(inner, fc.boolean()).map(([s, c]) => listOf(s, c)), weight: 1 },
    { arbitrary: fieldsOf(inner, 3).map(structOf), weight: 1 },
    { arbitrary: fc.tuple(inner, fc.boolean()).map(([s, c]) => nullable(s, c)), weight: 1 }
  )
}

/** A row schema of 1–6 random columns, plus rows for it (possibly none). */
const tableArb = fieldsOf(specOf(2), 6).map(structOf).chain((row) =>
  fc.record({ row: fc.constant(printable(row)), rows: fc.array(row.value, { maxLength: 8 }) })
)

const roundTrip = <S extends Table.RowSchema>(schema: S, rows: ReadonlyArray<unknown>) => {
  const table = Table.make(schema, rows as never)
  const bytes = Table.toIPC(table)
  return { table, back: Effect.runSync(Table.fromIPC(schema, bytes)) }
}

const decodeError = <A>(effect: Effect.Effect<A, TableDecodeError>): TableDecodeError =>
  Effect.runSync(Effect.flip(effect))

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  throw new Error("expected the call to throw")
}

describe("Schema ↔ Arrow round trips", () => {
  it("make → toIPC → fromIPC → toRows returns the input rows, for any mix of column kinds", () => {
    fc.assert(
      fc.property(tableArb, ({ row, rows }) => {
        const schema = row.schema as Table.RowSchema
        const { table, back } = roundTrip(schema, rows)
        expect(table.numRows).toBe(rows.length)
        expect(back.numRows).toBe(rows.length)
        expect(Table.toRows(back)).toStrictEqual(rows)
        expect(Table.toRows(table)).toStrictEqual(rows)
      }),
      { numRuns: 150 }
    )
  })

  it("maps every column kind to the expected Arrow type, before and after IPC", () => {
    fc.assert(
      fc.property(tableArb, ({ row, rows }) => {
        const schema = row.schema as Table.RowSchema
        expect(renderSchema(ArrowSchema.toArrowSchema(schema))).toBe(row.arrow)
        const { back } = roundTrip(schema, rows)
        expect(renderSchema(back.arrow.schema)).toBe(row.arrow)
      }),
      { numRuns: 100 }
    )
  })

  it("column values read back per column match the rows, including Int64 as JS numbers", () => {
    const Row = Schema.Struct({ id: Columns.Int64, score: Schema.NullOr(Columns.Float32), tags: Columns.List(Columns.Utf8) })
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.maxSafeInteger(), score: fc.option(fc.float(), { nil: null }), tags: fc.array(text, { maxLength: 3 }) }, { noNullPrototype: true }), { maxLength: 10 }),
        (rows) => {
          const { back } = roundTrip(Row, rows)
          expect(Table.columnValues(back, "id")).toStrictEqual(rows.map((r) => r.id))
          expect(Table.columnValues(back, "score")).toStrictEqual(rows.map((r) => r.score))
          expect(Table.columnValues(back, "tags")).toStrictEqual(rows.map((r) => r.tags))
        }
      ),
      { numRuns: 50 }
    )
  })

  it("gives the narrow column types their Arrow types", () => {
    const Row = Schema.Struct({
      f32: Columns.Float32,
      f64: Columns.Float64,
      i32: Columns.Int32,
      i64: Columns.Int64,
      emb: Columns.Vector(3),
      maybe: Schema.NullOr(Columns.Int32),
      opt: Schema.optionalKey(Columns.Utf8),
      req: Columns.Utf8
    })
    const fields = new Map(ArrowSchema.toArrowSchema(Row).fields.map((f) => [f.name, f]))
    const f32 = fields.get("f32")!.type
    expect(Arrow.DataType.isFloat(f32) && f32.precision).toBe(Arrow.Precision.SINGLE)
    const f64 = fields.get("f64")!.type
    expect(Arrow.DataType.isFloat(f64) && f64.precision).toBe(Arrow.Precision.DOUBLE)
    const i32 = fields.get("i32")!.type
    expect(Arrow.DataType.isInt(i32) && [i32.bitWidth, i32.isSigned]).toEqual([32, true])
    const i64 = fields.get("i64")!.type
    expect(Arrow.DataType.isInt(i64) && [i64.bitWidth, i64.isSigned]).toEqual([64, true])
    const emb = fields.get("emb")!.type
    expect(Arrow.DataType.isFixedSizeList(emb)).toBe(true)
    expect((emb as Arrow.FixedSizeList).listSize).toBe(3)
    const item = (emb as Arrow.FixedSizeList).children[0]!.type
    expect(Arrow.DataType.isFloat(item) && item.precision).toBe(Arrow.Precision.SINGLE)
    expect(fields.get("maybe")!.nullable).toBe(true)
    expect(fields.get("opt")!.nullable).toBe(true)
    expect(fields.get("req")!.nullable).toBe(false)
    expect(fields.get("f32")!.nullable).toBe(false)
  })

  it("stores Float32 columns at float32 precision", () => {
    const Row = Schema.Struct({ x: Columns.Float32 })
    const { back } = roundTrip(Row, [{ x: 0.1 }, { x: 1 / 3 }])
    expect(Table.columnValues(back, "x")).toStrictEqual([Math.fround(0.1), Math.fround(1 / 3)])
    expect(Table.columnValues(back, "x")[0]).not.toBe(0.1)
  })

  it("round trips empty tables of every column kind, keeping the schema", () => {
    fc.assert(
      fc.property(tableArb, ({ row }) => {
        const schema = row.schema as Table.RowSchema
        const { back } = roundTrip(schema, [])
        expect(back.numRows).toBe(0)
        expect(Table.toRows(back)).toStrictEqual([])
        expect(renderSchema(back.arrow.schema)).toBe(row.arrow)
      }),
      { numRuns: 50 }
    )
  })

  it("builds the same table from whole columns as from rows", () => {
    const Row = Schema.Struct({ id: Columns.Int32, x: Columns.Float32, name: Columns.Utf8 })
    const fromCols = Table.fromColumns(Row, { id: new Int32Array([3, 1, 2]), x: new Float32Array([0.5, -1, 2]), name: ["c", "a", "b"] })
    expect(Table.toRows(fromCols)).toStrictEqual([{ id: 3, x: 0.5, name: "c" }, { id: 1, x: -1, name: "a" }, { id: 2, x: 2, name: "b" }])
  })

  it("keeps withMetadata's metadata through IPC, merged with what was there, without changing the original", () => {
    const Row = Schema.Struct({ x: Columns.Int32 })
    const table = Table.make(Row, [{ x: 1 }])
    const once = Table.withMetadata(table, { model: "{\"dim\":4}", step: "1" })
    const twice = Table.withMetadata(once, { step: "2", note: "ünï" })
    expect(Table.metadata(table)).toStrictEqual({})
    expect(Table.metadata(once)).toStrictEqual({ model: "{\"dim\":4}", step: "1" })
    const back = Effect.runSync(Table.fromIPC(Row, Table.toIPC(twice)))
    expect(Table.metadata(back)).toStrictEqual({ model: "{\"dim\":4}", step: "2", note: "ünï" })
    expect(Table.toRows(back)).toStrictEqual([{ x: 1 }])
  })

  it("refuses a schema with no Arrow counterpart with a SchemaMappingError naming the column", () => {
    const Row = Schema.Struct({ ok: Columns.Utf8, inner: Schema.Struct({ mixed: Schema.Union([Schema.String, Schema.Number]) }) })
    const error = thrown(() => ArrowSchema.toArrowSchema(Row))
    expect(error).toBeInstanceOf(SchemaMappingError)
    expect((error as SchemaMappingError).column).toBe("inner.mixed")
    expect((error as SchemaMappingError).message).toContain("inner.mixed")
  })
})

describe("Table.make errors", () => {
  const Row = Schema.Struct({ id: Columns.Int32, name: Columns.Utf8, emb: Columns.Vector(2), kind: Schema.Literals(["a", "b"]) })
  const good = (i: number) => ({ id: i, name: `n${i}`, emb: [i, -i], kind: "a" as const })
  const bad: Record<keyof typeof Row.fields, ReadonlyArray<unknown>> = {
    id: [1.5, "1", null, 2 ** 40],
    name: [1, null, undefined],
    emb: [[1], [1, 2, 3], ["x", 1], null],
    kind: ["c", 1, null]
  }

  it("throws a TableDecodeError naming the first bad row's index and column", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom(...(Object.keys(bad) as Array<keyof typeof bad>)).chain((column) =>
          fc.record({ column: fc.constant(column), value: fc.constantFrom(...bad[column]) })
        ),
        (before, after, { column, value }) => {
          const rows: Array<unknown> = Array.from({ length: before + after + 1 }, (_, i) => good(i))
          rows[before] = { ...good(before), [column]: value }
          const error = thrown(() => Table.make(Row, rows as never, "prefs"))
          expect(error).toBeInstanceOf(TableDecodeError)
          const e = error as TableDecodeError
          expect(e.column).toBe(column)
          expect(e.row).toBe(before)
          expect(e.table).toBe("prefs")
          expect(e.message).toContain(`column '${column}'`)
          expect(e.message).toContain(`row ${before}`)
        }
      ),
      { numRuns: 100 }
    )
  })

  it("says what it got: the bad value, null, or a missing key", () => {
    const withName = (name: unknown) => [good(0), { ...good(1), name }]
    const wrong = thrown(() => Table.make(Row, withName(42) as never)) as TableDecodeError
    expect(wrong.expected).toBe("string")
    expect(wrong.actual).toBe("42")
    const nulled = thrown(() => Table.make(Row, withName(null) as never)) as TableDecodeError
    expect(nulled.actual).toBe("null")
    const { name: _, ...noName } = good(1)
    const missing = thrown(() => Table.make(Row, [good(0), noName] as never)) as TableDecodeError
    expect(missing.column).toBe("name")
    expect(missing.row).toBe(1)
    expect(missing.message).toMatch(/missing/i)
    expect(missing.message).not.toContain("emb")
  })

  it("rejects an Int32 value outside the 32-bit range instead of wrapping it", () => {
    const I = Schema.Struct({ x: Columns.Int32 })
    expect(Table.toRows(Table.make(I, [{ x: 2 ** 31 - 1 }, { x: -(2 ** 31) }]))).toStrictEqual([{ x: 2 ** 31 - 1 }, { x: -(2 ** 31) }])
    const error = thrown(() => Table.make(I, [{ x: 1 }, { x: 2 ** 31 }])) as TableDecodeError
    expect(error).toBeInstanceOf(TableDecodeError)
    expect([error.column, error.row]).toStrictEqual(["x", 1])
  })

  it("rejects an Int64 value beyond the safe integers", () => {
    const I = Schema.Struct({ x: Columns.Int64 })
    const error = thrown(() => Table.make(I, [{ x: 2 ** 53 }])) as TableDecodeError
    expect(error).toBeInstanceOf(TableDecodeError)
    expect([error.column, error.row]).toStrictEqual(["x", 0])
  })
})

describe("Table.fromArrow / fromIPC errors", () => {
  const Row = Schema.Struct({ id: Columns.Int32, score: Columns.Float32, text: Columns.Utf8 })
  const Nullable = Schema.Struct({ id: Schema.NullOr(Columns.Int32), score: Columns.Float32, text: Schema.NullOr(Columns.Utf8) })

  it("accepts an Arrow table that matches, with extra columns ignored", () => {
    const arrow = Table.make(Schema.Struct({ ...Row.fields, extra: Columns.Bool }), [{ id: 1, score: 0.5, text: "x", extra: true }]).arrow
    const table = Effect.runSync(Table.fromArrow(Row, arrow))
    expect(Table.toRows(table)).toStrictEqual([{ id: 1, score: 0.5, text: "x" }])
  })

  it("fails naming a missing column", () => {
    const ipc = Table.toIPC(Table.make(Schema.Struct({ id: Columns.Int32, score: Columns.Float32 }), [{ id: 1, score: 1 }]))
    const error = decodeError(Table.fromIPC(Row, ipc, "shard-3"))
    expect(error).toBeInstanceOf(TableDecodeError)
    expect(error.column).toBe("text")
    expect(error.row).toBeNull()
    expect(error.message).toContain("'text'")
    expect(error.message).toContain("shard-3")
  })

  it("fails naming a column of the wrong Arrow type, with both types", () => {
    const arrow = Arrow.tableFromArrays({ id: new Int32Array([1]), score: new Float64Array([0.5]), text: ["x"] })
    const error = decodeError(Table.fromArrow(Row, arrow))
    expect(error.column).toBe("score")
    expect(error.message).toContain("Float32")
    expect(error.message).toContain("Float64")
  })

  it("fails naming the column and the first row of a null in a non-nullable column", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }), (before, after) => {
        const rows = Array.from({ length: before + after + 1 }, (_, i) => ({ id: i, score: i, text: i === before ? null : `t${i}` }))
        const ipc = Table.toIPC(Table.make(Nullable, rows))
        expect(Table.toRows(Effect.runSync(Table.fromIPC(Nullable, ipc)))).toStrictEqual(rows)
        const error = decodeError(Table.fromIPC(Row, ipc))
        expect(error.column).toBe("text")
        expect(error.row).toBe(before)
        expect(error.message).toContain(`column 'text', row ${before}`)
      }),
      { numRuns: 30 }
    )
  })
})

describe("toIPCChunks", () => {
  const joined = (table: Table.Table) => {
    const { chunks, byteLength } = Table.toIPCChunks(table)
    expect(chunks.reduce((n, c) => n + c.byteLength, 0)).toBe(byteLength)
    return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)))
  }

  it("joined, is byte for byte toIPC, for any mix of column kinds", () => {
    fc.assert(
      fc.property(tableArb, ({ row, rows }) => {
        const table = Table.make(row.schema as Table.RowSchema, rows as never)
        expect(joined(table).equals(Buffer.from(Table.toIPC(table)))).toBe(true)
      }),
      { numRuns: 100 }
    )
  })

  it("is toIPC for several record batches, sliced batches, schema metadata and an empty table", () => {
    const Row = Schema.Struct({ id: Columns.Int32, text: Columns.Utf8, v: Columns.Vector(3) })
    const one = Table.make(Row, Array.from({ length: 50 }, (_, i) => ({ id: i, text: "x".repeat(i % 7), v: [i, -i, 0.5] })))
    const batches = one.arrow.batches[0]!
    const multi = Effect.runSync(Table.fromArrow(Row, new Arrow.Table([batches, batches.slice(3, 40), batches.slice(17, 18)])))
    const tagged = Table.withMetadata(multi, { model: "{\"dim\":4}" })
    const empty = Table.make(Row, [])
    for (const table of [one, multi, tagged, empty]) {
      expect(joined(table).equals(Buffer.from(Table.toIPC(table)))).toBe(true)
    }
    expect(Table.toRows(Effect.runSync(Table.fromIPC(Row, joined(tagged))))).toStrictEqual(Table.toRows(tagged))
  })
})
