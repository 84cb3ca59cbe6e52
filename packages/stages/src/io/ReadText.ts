/**
 * `read-text`: a source stage that reads a UTF-8 text file into one row per line.
 * The file's content is part of the cache key, so editing it reruns what reads it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Columns, Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"

/** One line of text. */
export const Line = Schema.Struct({ line: Columns.Utf8 })

/** Reads a text file (path relative to the working directory) as lines. */
export const ReadText = Stage.make({
  name: "read-text",
  version: "1",
  description: "a UTF-8 text file as one row per line",
  inputs: {},
  outputs: { lines: Line },
  params: Schema.Struct({
    path: Schema.String,
    skipEmpty: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(true)))
  }),
  files: (p) => [p.path],
  run: ({ params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const text = fs.readFileSync(path.resolve(info.cwd, params.path), "utf8")
      const lines = text.split(/\r?\n/).filter((l) => !params.skipEmpty || l.trim() !== "")
      return { lines: Table.fromColumns(Line, { line: lines }) }
    })
})
