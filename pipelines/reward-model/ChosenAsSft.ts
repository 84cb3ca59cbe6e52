/** `chosen-as-sft`: the chosen responses of preference pairs as SFT demonstrations. */
import { Stage, Table } from "@rlhf/core"
import { PreferenceRow } from "@rlhf/stages/schemas/PreferenceRow"
import { SftRow } from "@rlhf/stages/schemas/SftRow"
import { Effect, Schema } from "effect"

/** SFT demonstrations: the chosen response of each preference pair, each (prompt, response) once. */
export const ChosenAsSft = Stage.make({
  name: "chosen-as-sft",
  version: "1",
  description: "the chosen responses of preference pairs as SFT demonstrations",
  inputs: { pairs: PreferenceRow },
  outputs: { examples: SftRow },
  params: Schema.Struct({}),
  run: ({ inputs }) =>
    Effect.sync(() => {
      const seen = new Set<string>()
      const rows: Array<typeof SftRow.Type> = []
      for (const pair of Table.toRows(inputs.pairs)) {
        const key = JSON.stringify([pair.prompt, pair.chosen])
        if (seen.has(key)) continue // Open-Assistant: the best reply is "chosen" against each lower rank
        seen.add(key)
        rows.push({ prompt: pair.prompt, response: pair.chosen, source: pair.source })
      }
      return { examples: Table.make(SftRow, rows, "examples") }
    })
})

