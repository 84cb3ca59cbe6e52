/** `task-rl-prompts`: prompts for PPO rollouts from the built-in synthetic task (no files). */
import { Stage, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { rlPrompts } from "../task/Generators.ts"
import { PromptRow } from "../schemas/PromptRow.ts"
import { countParam, seedParam, TASK_SOURCE, userTurn } from "./TaskParams.ts"

/** `n` training prompts, shuffled passes over the training pool (seeded by `seed`). Source "task". */
export const TaskRlPrompts = Stage.make({
  name: "task-rl-prompts",
  version: "1",
  description: "PPO rollout prompts of the built-in synthetic dialogue task",
  inputs: {},
  outputs: { prompts: PromptRow },
  params: Schema.Struct({ n: countParam(1000), seed: seedParam(3) }),
  run: ({ params }) =>
    Effect.sync(() => ({
      prompts: Table.make(PromptRow, rlPrompts(params.n, params.seed).map((p) => ({ prompt: userTurn(p), source: TASK_SOURCE })), "prompts")
    }))
})
