/**
 * `prompts`: a source stage that reads prompts (for PPO rollouts or evaluation) from JSONL or
 * JSON array files into one table.
 */
import { Progress, Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import type { Reject } from "../preferences/Readers.ts"
import { baseName } from "../preferences/Readers.ts"
import { PromptRow } from "../schemas/PromptRow.ts"
import { RejectRow } from "../schemas/RejectRow.ts"
import { decodeRecords, settleRejects } from "./JsonRecords.ts"
import { decodePromptRecord } from "./PromptRecords.ts"
import { PathParam, pathList, readText } from "./SourceFiles.ts"

/**
 * Reads prompts (`path`: one file or a list) into `prompts`. A record is a bare JSON string,
 * `{prompt}` (a string or chat turns, other keys ignored, e.g. cvalues), MT-bench
 * `{question_id, category, turns}` (the first turn) or Alpaca `{instruction, input}`. A
 * malformed record fails the node with its file, line and field, unless `skipInvalid`, which
 * skips it and lists it in `rejects`. `source` defaults to the file's base name.
 */
export const Prompts = Stage.make({
  name: "prompts",
  version: "1",
  description: "prompts read from JSONL / JSON files (bare strings, {prompt}, MT-bench turns, Alpaca)",
  inputs: {},
  outputs: { prompts: PromptRow, rejects: RejectRow },
  params: Schema.Struct({
    path: PathParam,
    skipInvalid: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false))),
    source: Schema.optionalKey(Schema.String)
  }),
  files: (p) => pathList(p.path),
  run: ({ params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const progress = yield* Progress
      const files = pathList(params.path)
      const rows: Array<typeof PromptRow.Type> = []
      const rejects: Reject[] = []
      for (const [i, file] of files.entries()) {
        const decoded = decodeRecords(yield* readText(file), file, decodePromptRecord)
        const error = settleRejects(info.node, params.skipInvalid, decoded.rejects, decoded.fatal)
        if (error !== undefined) return yield* error
        const source = params.source ?? baseName(file)
        for (const prompt of decoded.items) rows.push({ prompt, source })
        rejects.push(...decoded.rejects)
        yield* Effect.logInfo(`${file}: ${decoded.items.length} prompts${decoded.rejects.length > 0 ? `, ${decoded.rejects.length} malformed records skipped` : ""}`)
        progress.update({ done: i + 1, total: files.length, info: file })
      }
      return { prompts: Table.make(PromptRow, rows, "prompts"), rejects: Table.make(RejectRow, rejects, "rejects") }
    })
})
