/** `task-sft`: SFT demonstrations of the built-in synthetic task (no files). */
import { Stage, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { sftData } from "../task/Generators.ts"
import { SftRow } from "../schemas/SftRow.ts"
import { countParam, seedParam, TASK_SOURCE, userTurn } from "./TaskParams.ts"

/**
 * `n` demonstrations on the task's training prompts, half gold and half flawed (so RLHF has
 * room to improve; see packages/stages/src/task/README.md), seeded by `seed`. Source "task".
 */
export const TaskSft = Stage.make({
  name: "task-sft",
  version: "1",
  description: "SFT demonstrations of the built-in synthetic dialogue task",
  inputs: {},
  outputs: { examples: SftRow },
  params: Schema.Struct({ n: countParam(2000), seed: seedParam(1) }),
  run: ({ params }) =>
    Effect.sync(() => ({
      examples: Table.make(SftRow, sftData(params.n, params.seed).map((d) => ({ prompt: userTurn(d.prompt), response: d.response, source: TASK_SOURCE })), "examples")
    }))
})
