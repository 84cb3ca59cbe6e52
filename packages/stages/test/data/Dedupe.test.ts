import { Table } from "@rlhf/core"
import { describe, expect, it } from "vitest"
import { Dedupe } from "../../src/data/Dedupe.ts"
import { pairsOf } from "../../src/schemas/PreferenceRow.ts"
import { metricsOf, pair, pairsTable } from "./Fixtures.ts"
import { runStage } from "./RunStage.ts"

const long = "Explain in a few sentences why the sky looks blue during the day and red at sunset, please."
const answer = "Sunlight scatters off air molecules; blue light scatters most, so the sky looks blue by day."

const input = [
  pair(long, answer, "Because the sea reflects onto it."), // 0 kept
  pair("Name a colour of the rainbow.", "Red", "Green"), // 1 A>B  ┐
  pair("Name a colour of the rainbow.", "Green", "Blue"), // 2 B>C  ├ a cycle of three
  pair("Name a colour of the rainbow.", "Blue", "Red"), // 3 C>A  ┘
  pair("What is 2+2?", "Four.", "  four. "), // 4 a tie after normalisation
  pair(long, answer, "Because the sea reflects onto it!"), // 5 near-duplicate of 0
  pair(long.toUpperCase(), answer, "Because the sea reflects onto it."), // 6 exact duplicate of 0 (normalised)
  pair("  ", "x", "y"), // 7 short prompt
  pair("What is 3+3?", "Six.", "Seven.") // 8 kept
]


describe("dedupe stage", () => {
  it("drops each reason with its detail and reports counts per reason", async () => {
    const out = await runStage(Dedupe, { pairs: pairsTable(input) })
    expect(pairsOf(out.kept)).toEqual([input[0], input[8]])
    expect(Table.toRows(out.dropped).map((r) => [r.chosen, r.rejected, r.reason, r.detail])).toEqual([
      ["Red", "Green", "cycle", "input row 1"],
      ["Green", "Blue", "cycle", "input row 2"],
      ["Blue", "Red", "cycle", "input row 3"],
      ["Four.", "  four. ", "tie", "input row 4"],
      [answer, "Because the sea reflects onto it!", "near-duplicate", "input row 5 repeats input row 0"],
      [answer, "Because the sea reflects onto it.", "exact-duplicate", "input row 6 repeats input row 0"],
      ["x", "y", "short-prompt", "input row 7"]
    ])
    // Dropped rows keep the whole pair.
    expect(Table.toRows(out.dropped)[5]!.prompt).toEqual([{ role: "user", content: long.toUpperCase() }])
    expect(metricsOf(out.metrics)).toEqual({
      "pairs.input": 9, "pairs.kept": 2,
      "pairs.dropped/short-prompt": 1, "pairs.dropped/tie": 1, "pairs.dropped/exact-duplicate": 1, "pairs.dropped/near-duplicate": 1, "pairs.dropped/cycle": 3
    })
    expect(Table.toRows(out.metrics).every((r) => r.step === null)).toBe(true)
  })

  it("the threshold decides what is near: above 1 turns near-duplicates off; a low one catches looser ones", async () => {
    const off = await runStage(Dedupe, { pairs: pairsTable(input) }, { nearDuplicateThreshold: 1.01 })
    expect(pairsOf(off.kept)).toEqual([input[0], input[5], input[8]])
    const loose = [pair(long, answer, "Because the sea reflects onto it."), pair(long, answer.replace("most", "the most"), "Because the sea reflects onto the sky.")]
    expect((await runStage(Dedupe, { pairs: pairsTable(loose) })).kept.numRows).toBe(2)
    expect((await runStage(Dedupe, { pairs: pairsTable(loose) }, { nearDuplicateThreshold: 0.5 })).kept.numRows).toBe(1)
  })

  it("minPromptChars drops short prompts; an empty input gives empty outputs", async () => {
    const out = await runStage(Dedupe, { pairs: pairsTable(input) }, { minPromptChars: 20 })
    expect(Table.toRows(out.dropped).filter((r) => r.reason === "short-prompt").map((r) => r.prompt[0]!.content)).toEqual(["What is 2+2?", "  ", "What is 3+3?"])
    const empty = await runStage(Dedupe, { pairs: pairsTable([]) })
    expect([empty.kept.numRows, empty.dropped.numRows]).toEqual([0, 0])
    expect(metricsOf(empty.metrics)["pairs.input"]).toBe(0)
  })
})
