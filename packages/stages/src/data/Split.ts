/** `split`: a seeded train/validation split of preference pairs by prompt (or conversation). */
import { Stage } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { conversationKey, splitByPrompt } from "../preferences/Split.ts"
import { PreferenceRow, pairsOf, preferenceTable } from "../schemas/PreferenceRow.ts"

/**
 * Sends every pair of one prompt (`groupBy` "prompt", normalised) or of one conversation
 * ("conversation": system turns and first user turn, so the turns of one Open-Assistant tree
 * stay together) to the same side: a group goes to `validation` when a hash of its key seeded by
 * `seed` falls below `validationFraction`, else to `train`. A group's side depends only on its
 * key and the seed, so adding pairs never moves others across.
 */
export const Split = Stage.make({
  name: "split",
  version: "1",
  description: "seeded train/validation split of preference pairs by prompt or conversation",
  inputs: { pairs: PreferenceRow },
  outputs: { train: PreferenceRow, validation: PreferenceRow },
  params: Schema.Struct({
    validationFraction: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0.1))),
    seed: Schema.Int.check(Schema.isInt32()).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))),
    groupBy: Schema.Literals(["prompt", "conversation"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("prompt" as const)))
  }),
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const result = splitByPrompt(pairsOf(inputs.pairs), {
        validationFraction: params.validationFraction,
        seed: params.seed,
        ...(params.groupBy === "conversation" ? { groupBy: conversationKey } : {})
      })
      yield* Effect.logInfo(`train ${result.train.length}, validation ${result.validation.length}`)
      return { train: preferenceTable(result.train), validation: preferenceTable(result.validation) }
    })
})
