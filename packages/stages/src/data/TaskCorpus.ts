/** `task-corpus`: pretraining text in the built-in synthetic task's language (no files). */
import { Stage, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { corpus } from "../task/Generators.ts"
import { TextRow } from "../schemas/TextRow.ts"
import { countParam, seedParam } from "./TaskParams.ts"

/**
 * About `nChars` characters of pretraining text (facts such as "fig is a fruit.", training
 * requests, and "request: gold answer" lines), seeded by `seed`, one document per line.
 */
export const TaskCorpus = Stage.make({
  name: "task-corpus",
  version: "1",
  description: "pretraining text of the built-in synthetic dialogue task, one line per document",
  inputs: {},
  outputs: { documents: TextRow },
  params: Schema.Struct({ nChars: countParam(200_000), seed: seedParam(5) }),
  run: ({ params }) =>
    Effect.sync(() => ({
      documents: Table.fromColumns(TextRow, { text: corpus(params.nChars, params.seed).split("\n").filter((line) => line !== "") })
    }))
})
