/** `task-eval-prompts`: held-out evaluation prompts of the built-in synthetic task (no files). */
import { Stage, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { evalPrompts } from "../task/Generators.ts"
import { evalPromptPool } from "../task/Requests.ts"
import { PromptRow } from "../schemas/PromptRow.ts"
import { countParam, seedParam, TASK_SOURCE, userTurn } from "./TaskParams.ts"

/**
 * `n` held-out prompts (default: the whole pool of 38, each once), seeded by `seed`. Their
 * requests never appear in any training data of the task; a larger `n` repeats them. Source "task".
 */
export const TaskEvalPrompts = Stage.make({
  name: "task-eval-prompts",
  version: "1",
  description: "held-out evaluation prompts of the built-in synthetic dialogue task",
  inputs: {},
  outputs: { prompts: PromptRow },
  params: Schema.Struct({ n: countParam(evalPromptPool.length), seed: seedParam(4) }),
  run: ({ params }) =>
    Effect.sync(() => ({
      prompts: Table.make(PromptRow, evalPrompts(params.n, params.seed).map((p) => ({ prompt: userTurn(p), source: TASK_SOURCE })), "prompts")
    }))
})
