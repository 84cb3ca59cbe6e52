/**
 * Stages: running `run` directly with test services, the recorded defining module, and resource defaults.
 */
import { fileURLToPath } from "node:url"
import { Effect, Layer, Schema } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import { Columns, Progress, Stage, StageInfo, Table } from "../src/index.ts"
import type { ProgressUpdate } from "../src/index.ts"

const Lines = Schema.Struct({ line: Columns.Utf8 })
const Tagged = Schema.Struct({ line: Columns.Utf8, node: Columns.Utf8, seed: Columns.Int64, length: Columns.Int32 })

/** Upper-cases lines, tags them with the node and seed, and reports one progress update per line. */
const Tag = Stage.make({
  name: "tag",
  version: "1",
  inputs: { lines: Lines },
  outputs: { tagged: Tagged, kept: Lines },
  params: Schema.Struct({ minLength: Schema.Int.pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))) }),
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const progress = yield* Progress
      const lines = Table.columnValues(inputs.lines, "line")
      lines.forEach((_, i) => progress.update({ done: i + 1, total: lines.length }))
      info.record("lines", String(lines.length))
      const kept = lines.filter((l) => l.length >= params.minLength)
      return {
        tagged: Table.make(Tagged, kept.map((line) => ({ line: line.toUpperCase(), node: info.node, seed: info.seed, length: line.length }))),
        kept: Table.make(Lines, kept.map((line) => ({ line })))
      }
    })
})

const services = (info: Parameters<typeof StageInfo.test>[0] = {}) => Layer.mergeAll(Progress.silent, StageInfo.test(info))

describe("Stage.run", () => {
  const input = Table.make(Lines, [{ line: "a" }, { line: "héllo" }, { line: "" }, { line: "abc" }])

  it("runs directly with silent progress and a test StageInfo, producing typed tables", async () => {
    const params = Schema.decodeUnknownSync(Tag.params)({ minLength: 1 })
    const out = await Effect.runPromise(Tag.run({ inputs: { lines: input }, params }).pipe(Effect.provide(services({ node: "g/tag", seed: 42 }))))
    expectTypeOf(out.tagged).toEqualTypeOf<Table.Table<typeof Tagged>>()
    expectTypeOf(Table.toRows(out.tagged)[0]!.seed).toEqualTypeOf<number>()
    expect(out.tagged.rowSchema).toBe(Tagged)
    expect(Table.toRows(out.tagged)).toStrictEqual([
      { line: "A", node: "g/tag", seed: 42, length: 1 },
      { line: "HÉLLO", node: "g/tag", seed: 42, length: 5 },
      { line: "ABC", node: "g/tag", seed: 42, length: 3 }
    ])
    expect(Table.columnValues(out.kept, "line")).toStrictEqual(["a", "héllo", "abc"])
    // The outputs are real Arrow tables: they survive IPC against their declared schemas.
    const back = Effect.runSync(Table.fromIPC(Tagged, Table.toIPC(out.tagged)))
    expect(Table.toRows(back)).toStrictEqual(Table.toRows(out.tagged))
  })

  it("uses the params schema's defaults and the test StageInfo's defaults", () => {
    const params = Schema.decodeUnknownSync(Tag.params)({})
    expect(params).toStrictEqual({ minLength: 0 })
    const out = Effect.runSync(Tag.run({ inputs: { lines: input }, params }).pipe(Effect.provide(services())))
    expect(out.tagged.numRows).toBe(4)
    expect(Table.columnValues(out.tagged, "node")).toStrictEqual(["test", "test", "test", "test"])
    expect(Table.columnValues(out.tagged, "seed")).toStrictEqual([0, 0, 0, 0])
  })

  it("StageInfo.test fills the rest and takes overrides", () => {
    const read = Effect.gen(function*() {
      return yield* StageInfo
    })
    const info = Effect.runSync(read.pipe(Effect.provide(StageInfo.test({ device: 1, cwd: "/tmp/x" }))))
    expect([info.node, info.seed, info.device, info.cwd]).toStrictEqual(["test", 0, 1, "/tmp/x"])
    expect(Effect.runSync(read.pipe(Effect.provide(StageInfo.test()))).cwd).toBe(process.cwd())
  })

  it("reports progress through the Progress service it is given", () => {
    const updates: Array<ProgressUpdate> = []
    const capture = Layer.succeed(Progress, Progress.of({ update: (u) => void updates.push(u) }))
    Effect.runSync(Tag.run({ inputs: { lines: input }, params: { minLength: 0 } }).pipe(
      Effect.provide(Layer.mergeAll(capture, StageInfo.test()))
    ))
    expect(updates).toStrictEqual([1, 2, 3, 4].map((done) => ({ done, total: 4 })))
  })

  it("fails with the stage's own error", () => {
    class Boom extends Schema.TaggedError<Boom>()("Boom", { why: Schema.String }) {}
    const Failing = Stage.make({
      name: "failing",
      version: "1",
      inputs: {},
      outputs: { lines: Lines },
      params: Schema.Struct({}),
      run: () => Effect.fail(new Boom({ why: "no input" }))
    })
    const error = Effect.runSync(Effect.flip(Failing.run({ inputs: {}, params: {} }).pipe(Effect.provide(services()))))
    expect(error).toBeInstanceOf(Boom)
    expect((error as Boom).why).toBe("no input")
  })
})

describe("Stage.make", () => {
  it("records the module that defines the stage", () => {
    expect(Tag.module).toBe(fileURLToPath(import.meta.url))
    const local = Stage.make({ name: "local", version: "1", inputs: {}, outputs: {}, params: Schema.Struct({}), run: () => Effect.succeed({}) })
    expect(local.module).toBe(fileURLToPath(import.meta.url))
  })

  it("keeps an explicit module and the rest of the spec", () => {
    const spec = {
      name: "explicit",
      version: "3",
      description: "d",
      inputs: { lines: Lines },
      outputs: {},
      params: Schema.Struct({}),
      module: "/somewhere/else.ts",
      cache: "recompute" as const,
      retries: 2,
      run: () => Effect.succeed({})
    }
    const stage = Stage.make(spec)
    expect(stage.module).toBe("/somewhere/else.ts")
    expect(stage).toMatchObject({ name: "explicit", version: "3", description: "d", cache: "recompute", retries: 2 })
    expect(stage.inputs.lines).toBe(Lines)
    expect(stage.run).toBe(spec.run)
  })
})

describe("Stage.resourcesOf", () => {
  const base = { version: "1", inputs: {}, outputs: {}, params: Schema.Struct({ gpus: Schema.Number }), run: () => Effect.succeed({}) }

  it("defaults to one CPU slot, no GPU, no sharing", () => {
    expect(Stage.resourcesOf(Stage.make({ ...base, name: "plain" }), { gpus: 0 })).toStrictEqual({ cpu: 1, gpu: 0, shareGpu: false })
  })

  it("fills in what a partial spec leaves out and keeps what it gives", () => {
    const stage = Stage.make({ ...base, name: "partial", resources: { gpu: 1, memoryMb: 512 } })
    expect(Stage.resourcesOf(stage, { gpus: 0 })).toStrictEqual({ cpu: 1, gpu: 1, shareGpu: false, memoryMb: 512 })
  })

  it("calls a resources function with the node's params", () => {
    const stage = Stage.make({ ...base, name: "fn", resources: (p) => ({ cpu: 4, gpu: p.gpus, shareGpu: p.gpus > 0 }) })
    expect(Stage.resourcesOf(stage, { gpus: 1 })).toStrictEqual({ cpu: 4, gpu: 1, shareGpu: true })
    expect(Stage.resourcesOf(stage, { gpus: 0 })).toStrictEqual({ cpu: 4, gpu: 0, shareGpu: false })
  })
})
