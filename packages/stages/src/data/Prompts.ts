/**
 * `prompts`: a source stage that reads prompts (for PPO rollouts or evaluation) from JSONL or
 * JSON array files into one table.
 */
import { Stage, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { PromptRow } from "../schemas/PromptRow.ts"
import { RejectRow } from "../schemas/RejectRow.ts"
import { decodePromptRecord } from "./PromptRecords.ts"
import { readRecordFiles } from "./RecordFiles.ts"
import { PathParam, pathList } from "./SourceFiles.ts"

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
      const { items, rejects } = yield* readRecordFiles(params, decodePromptRecord, "prompts")
      const rows = items.map(({ item, source }) => ({ prompt: item, source }))
      return { prompts: Table.make(PromptRow, rows, "prompts"), rejects: Table.make(RejectRow, rejects, "rejects") }
    })
})
