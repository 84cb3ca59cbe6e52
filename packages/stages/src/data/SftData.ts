/**
 * `sft-data`: a source stage that reads supervised fine-tuning demonstrations from JSONL or JSON
 * array files into one table.
 */
import { Stage, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { RejectRow } from "../schemas/RejectRow.ts"
import { SftRow } from "../schemas/SftRow.ts"
import { decodeSftRecord, fillPlaceholders } from "./SftRecords.ts"
import { readRecordFiles } from "./RecordFiles.ts"
import { PathParam, pathList } from "./SourceFiles.ts"

/**
 * Reads SFT demonstrations (`path`: one file or a list) into `examples`. Each record is
 * `{prompt, response}` (prompt a string or chat turns) or Alpaca-style
 * `{instruction, input, output, system?, history?}`, in JSONL or a JSON array (e.g.
 * LLaMA-Factory's identity.json). `{{name}}` and `{{author}}` placeholders are filled from the
 * `name` and `author` params. A malformed record fails the node with its file, line and field,
 * unless `skipInvalid`, which skips it and lists it in `rejects`. `source` defaults to the
 * file's base name.
 */
export const SftData = Stage.make({
  name: "sft-data",
  version: "1",
  description: "SFT demonstrations read from {prompt, response} or Alpaca {instruction, input, output} files",
  inputs: {},
  outputs: { examples: SftRow, rejects: RejectRow },
  params: Schema.Struct({
    path: PathParam,
    skipInvalid: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false))),
    source: Schema.optionalKey(Schema.String),
    name: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("Assistant"))),
    author: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("the rlhf-dataflow project")))
  }),
  files: (p) => pathList(p.path),
  run: ({ params }) =>
    Effect.gen(function*() {
      const { items, rejects } = yield* readRecordFiles(params, decodeSftRecord, "examples")
      const rows = items.map(({ item, source }) => ({ ...fillPlaceholders(item, { name: params.name, author: params.author }), source }))
      return { examples: Table.make(SftRow, rows, "examples"), rejects: Table.make(RejectRow, rejects, "rejects") }
    })
})
