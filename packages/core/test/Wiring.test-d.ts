/**
 * Compile-time checks of pipeline wiring: row types must match where an output meets an input,
 * required inputs must be given, and params must have their schema's types.
 * Each `@ts-expect-error` below is a wiring mistake that must not compile.
 */
import { Effect, Schema } from "effect"
import { describe, expectTypeOf, it } from "vitest"
import { Columns, Pipeline, Stage, Table } from "../src/index.ts"
import type { Node, OutputRef, Row } from "../src/index.ts"

const Text = Schema.Struct({ text: Columns.Utf8 })
const Scored = Schema.Struct({ text: Columns.Utf8, score: Columns.Float32 })
const Ids = Schema.Struct({ id: Columns.Int32 })
const IdsAsText = Schema.Struct({ id: Columns.Utf8 })

const Read = Stage.make({
  name: "read",
  version: "1",
  inputs: {},
  outputs: { lines: Text },
  params: Schema.Struct({ path: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("in.txt"))) }),
  run: () => Effect.succeed({ lines: Table.make(Text, []) })
})

const Score = Stage.make({
  name: "score",
  version: "1",
  inputs: { lines: Text },
  outputs: { scored: Scored },
  params: Schema.Struct({
    scale: Schema.Number.pipe(Schema.withDecodingDefaultKey(Effect.succeed(1))),
    tags: Schema.Array(Schema.String).pipe(Schema.withDecodingDefaultKey(Effect.succeed([])))
  }),
  run: ({ inputs, params }) => {
    expectTypeOf(inputs.lines).toEqualTypeOf<Table.Table<typeof Text>>()
    expectTypeOf(params.scale).toEqualTypeOf<number>()
    expectTypeOf(params.tags).toEqualTypeOf<ReadonlyArray<string>>()
    return Effect.succeed({ scored: Table.make(Scored, Table.toRows(inputs.lines).map((r) => ({ text: r.text, score: params.scale }))) })
  }
})

const Merge = Stage.make({
  name: "merge",
  version: "1",
  inputs: { left: Text, right: Text },
  outputs: { lines: Text },
  params: Schema.Struct({}),
  run: ({ inputs }) => Effect.succeed({ lines: inputs.left })
})

const Count = Stage.make({
  name: "count",
  version: "1",
  inputs: { ids: Ids },
  outputs: {},
  params: Schema.Struct({}),
  run: () => Effect.succeed({})
})

describe("wiring that compiles", () => {
  it("wires an output into an input of the same row type", () => {
    Pipeline.make("ok", (p) => {
      const read = p.add("read", Read)
      expectTypeOf(read).toEqualTypeOf<Node<{ lines: typeof Text }>>()
      expectTypeOf(read.out.lines).toEqualTypeOf<OutputRef<typeof Text>>()
      const score = p.add("score", Score, { inputs: { lines: read.out.lines }, params: { scale: 2, tags: ["a"] } })
      expectTypeOf(score.out.scored).toEqualTypeOf<OutputRef<typeof Scored>>()
      p.add("merge", Merge, { inputs: { left: read.out.lines, right: p.ref("later", "lines", Text) } })
      // Another schema value with the same row type wires too: rows are what is checked.
      p.add("same", Score, { inputs: { lines: p.ref("read", "lines", Schema.Struct({ text: Columns.Utf8 })) } })
      p.add("later", Read, { params: { path: "later.txt" } })
    })
  })

  it("types the rows of the tables a stage reads", () => {
    expectTypeOf<Row<typeof Scored>>().toEqualTypeOf<{ readonly text: string; readonly score: number }>()
  })

  it("types what groups and includes return", () => {
    const Sub = Pipeline.make("sub", (p) => p.add("read", Read))
    Pipeline.make("outer", (p) => {
      const read = p.include("sub", Sub)
      const scored = p.group("g", (g) => g.add("score", Score, { inputs: { lines: read.out.lines } }).out.scored)
      expectTypeOf(scored).toEqualTypeOf<OutputRef<typeof Scored>>()
      expectTypeOf(p.param("n", Schema.Int, 2)).toEqualTypeOf<number>()
    })
  })
})

describe("wiring that must not compile", () => {
  it("rejects an output of another schema", () => {
    Pipeline.make("bad", (p) => {
      const read = p.add("read", Read)
      const score = p.add("score", Score, { inputs: { lines: read.out.lines } })
      // @ts-expect-error: `scored` rows have a `score` column the `lines` input does not declare.
      p.add("again", Score, { inputs: { lines: score.out.scored } })
      // @ts-expect-error: `Ids` rows are not `Text` rows.
      p.add("ids", Score, { inputs: { lines: p.ref("x", "ids", Ids) } })
      // @ts-expect-error: same column name, other column type.
      p.add("count", Count, { inputs: { ids: p.ref("x", "ids", IdsAsText) } })
    })
  })

  it("rejects a missing required input", () => {
    Pipeline.make("missing", (p) => {
      const read = p.add("read", Read)
      // @ts-expect-error: a stage with inputs needs its options.
      p.add("merge1", Merge)
      // @ts-expect-error: the options need `inputs`.
      p.add("merge2", Merge, { params: {} })
      // @ts-expect-error: `right` is not wired.
      p.add("merge3", Merge, { inputs: { left: read.out.lines } })
      // @ts-expect-error: a stage without inputs takes none.
      p.add("read2", Read, { inputs: { lines: read.out.lines } })
    })
  })

  it("rejects params of the wrong type or name", () => {
    Pipeline.make("params", (p) => {
      const read = p.add("read", Read)
      // @ts-expect-error: `scale` is a number.
      p.add("s1", Score, { inputs: { lines: read.out.lines }, params: { scale: "2" } })
      // @ts-expect-error: `tags` is a list of strings.
      p.add("s2", Score, { inputs: { lines: read.out.lines }, params: { tags: [1] } })
      // @ts-expect-error: no param `scael`.
      p.add("s3", Score, { inputs: { lines: read.out.lines }, params: { scael: 2 } })
      // @ts-expect-error: `path` is a string.
      p.add("r", Read, { params: { path: 3 } })
    })
  })

  it("rejects a stage whose run returns a table of another schema", () => {
    Stage.make({
      name: "wrong",
      version: "1",
      inputs: {},
      outputs: { ids: Ids },
      params: Schema.Struct({}),
      // @ts-expect-error: `ids` must be a table of `Ids` rows.
      run: () => Effect.succeed({ ids: Table.make(Text, []) })
    })
    Stage.make({
      name: "missing-output",
      version: "1",
      inputs: {},
      outputs: { ids: Ids, lines: Text },
      params: Schema.Struct({}),
      // @ts-expect-error: the `lines` output is missing.
      run: () => Effect.succeed({ ids: Table.make(Ids, []) })
    })
  })

  it("rejects rows of the wrong shape when making a table", () => {
    // @ts-expect-error: `score` is a number.
    Table.make(Scored, [{ text: "a", score: "high" }])
    // @ts-expect-error: `score` is required.
    Table.make(Scored, [{ text: "a" }])
  })
})
