/** `task-preferences`: preference pairs of the built-in synthetic task, from length-biased simulated annotators (no files). */
import { Stage } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { preferencePairs } from "../task/Generators.ts"
import { PreferenceRow, preferenceTable } from "../schemas/PreferenceRow.ts"
import { countParam, seedParam, TASK_SOURCE } from "./TaskParams.ts"

/**
 * `n` labelled comparisons of two different candidate responses to training prompts, seeded by
 * `seed`. With probability `lengthBias` the annotator picks the longer response regardless of
 * quality (0 turns the bias off); otherwise the ground-truth rule decides with Bradley-Terry
 * noise of `temperature`. Source "task"; no annotator or category.
 */
export const TaskPreferences = Stage.make({
  name: "task-preferences",
  version: "1",
  description: "preference pairs of the built-in synthetic dialogue task (length-biased annotators)",
  inputs: {},
  outputs: { pairs: PreferenceRow },
  params: Schema.Struct({
    n: countParam(4000),
    seed: seedParam(2),
    lengthBias: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0.5))),
    temperature: Schema.Number.check(Schema.isGreaterThan(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0.1)))
  }),
  run: ({ params }) =>
    Effect.sync(() => ({
      pairs: preferenceTable(preferencePairs(params.n, params.seed, { lengthBias: params.lengthBias, temperature: params.temperature }).map((p) => ({
        prompt: [{ role: "user", content: p.prompt }],
        chosen: p.chosen,
        rejected: p.rejected,
        source: TASK_SOURCE,
        annotator: null,
        category: null
      })))
    }))
})
