/**
 * `preferences`: a source stage that reads preference pairs from one or more files in any format
 * the preference readers understand (generic JSONL, Anthropic HH, Open-Assistant trees,
 * ShareGPT/LLaMA-Factory, Arrow; gzip or not), into one table.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { PreferenceParseError } from "../preferences/ParseError.ts"
import { parsePreferences } from "../preferences/Readers.ts"
import { PreferenceRow, preferenceTable } from "../schemas/PreferenceRow.ts"
import { RejectRow } from "../schemas/RejectRow.ts"
import { RecordError } from "./DataErrors.ts"
import { readSourceFiles } from "./RecordFiles.ts"
import { PathParam, pathList, readBytes } from "./SourceFiles.ts"

/** The formats the `format` param names; "auto" detects each file's own. */
export const PreferenceFormatParam = Schema.Literals(["auto", "jsonl", "hh", "oasst", "sharegpt", "arrow"])

/**
 * Reads preference files (`path`: one file or a list, relative to the pipeline's working
 * directory) into `pairs`. A malformed record fails the node with its file, line and field,
 * unless `skipInvalid`, which skips it and lists it in `rejects`. `source` overrides every
 * pair's source (default: a record's own, else the file's base name, e.g. "hh-rlhf-harmless").
 */
export const Preferences = Stage.make({
  name: "preferences",
  version: "1",
  description: "preference pairs read from JSONL / HH / Open-Assistant / ShareGPT / Arrow files",
  inputs: {},
  outputs: { pairs: PreferenceRow, rejects: RejectRow },
  params: Schema.Struct({
    path: PathParam,
    format: PreferenceFormatParam.pipe(Schema.withDecodingDefaultKey(Effect.succeed("auto" as const))),
    skipInvalid: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false))),
    source: Schema.optionalKey(Schema.String)
  }),
  files: (p) => pathList(p.path),
  run: ({ params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const readFile = (file: string) =>
        Effect.flatMap(readBytes(file), (bytes) =>
          Effect.try({
            try: () => {
              const read = parsePreferences(bytes, file, { format: params.format, skipInvalid: true, ...(params.source === undefined ? {} : { source: params.source }) })
              return { items: read.pairs, rejects: read.rejects }
            },
            catch: (e) => e instanceof PreferenceParseError ? new RecordError({ node: info.node, file: e.file, line: e.line, field: e.field, reason: e.reason, fatal: true }) : e
          }))
      const { items, rejects } = yield* readSourceFiles(params, readFile, "pairs")
      const pairs = items.map(({ item }) => item)
      return { pairs: preferenceTable(pairs), rejects: Table.make(RejectRow, rejects, "rejects") }
    })
})
