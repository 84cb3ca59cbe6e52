/**
 * `sft-data`: a source stage that reads supervised fine-tuning demonstrations from JSONL or JSON
 * array files into one table.
 */
import { Progress, Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import type { Reject } from "../preferences/Readers.ts"
import { baseName } from "../preferences/Readers.ts"
import { RejectRow } from "../schemas/RejectRow.ts"
import { SftRow } from "../schemas/SftRow.ts"
import { decodeRecords, settleRejects } from "./JsonRecords.ts"
import { decodeSftRecord, fillPlaceholders } from "./SftRecords.ts"
import { PathParam, pathList, readText } from "./SourceFiles.ts"

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
      const info = yield* StageInfo
      const progress = yield* Progress
      const files = pathList(params.path)
      const rows: Array<typeof SftRow.Type> = []
      const rejects: Reject[] = []
      for (const [i, file] of files.entries()) {
        const decoded = decodeRecords(yield* readText(file), file, decodeSftRecord)
        const error = settleRejects(info.node, params.skipInvalid, decoded.rejects, decoded.fatal)
        if (error !== undefined) return yield* error
        const source = params.source ?? baseName(file)
        for (const item of decoded.items) rows.push({ ...fillPlaceholders(item, { name: params.name, author: params.author }), source })
        rejects.push(...decoded.rejects)
        yield* Effect.logInfo(`${file}: ${decoded.items.length} examples${decoded.rejects.length > 0 ? `, ${decoded.rejects.length} malformed records skipped` : ""}`)
        progress.update({ done: i + 1, total: files.length, info: file })
      }
      return { examples: Table.make(SftRow, rows, "examples"), rejects: Table.make(RejectRow, rejects, "rejects") }
    })
})
