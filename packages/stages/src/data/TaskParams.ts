/** Params shared by the built-in task's stages. */
import { Effect, Schema } from "effect"

/** A count param (a non-negative integer) with a default. */
export const countParam = (defaultValue: number) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(defaultValue)))

/** A seed param (a 32-bit integer) with a default. */
export const seedParam = (defaultValue: number) =>
  Schema.Int.check(Schema.isInt32()).pipe(Schema.withDecodingDefaultKey(Effect.succeed(defaultValue)))

/** The `source` of every row the built-in task generates. */
export const TASK_SOURCE = "task"

/** One user turn: the task's prompts are single requests. */
export const userTurn = (content: string) => [{ role: "user", content }]
