import { Table } from "@rlhf/core"
import { describe, expect, it } from "vitest"
import { Split } from "../../src/data/Split.ts"
import type { PreferencePair } from "../../src/preferences/PreferencePair.ts"
import { pairsOf } from "../../src/schemas/PreferenceRow.ts"
import { pair, pairsTable } from "./Fixtures.ts"
import { runStage } from "./RunStage.ts"

// 200 prompts, 3 pairs each, the repeats differing in case and spacing only.
const pairs: PreferencePair[] = Array.from({ length: 200 }, (_, i) => [
  pair(`question number ${i}?`, `good ${i}`, `bad ${i}`),
  pair(`Question  number ${i}?`, `better ${i}`, `worse ${i}`),
  pair(` QUESTION number ${i}? `, `best ${i}`, `worst ${i}`)
]).flat()
const promptId = (p: PreferencePair) => /\d+/.exec(p.prompt.at(-1)!.content)![0]

describe("split stage", () => {
  it("keeps every pair of one prompt on one side, near the validation fraction, order kept", async () => {
    const out = await runStage(Split, { pairs: pairsTable(pairs) }, { validationFraction: 0.25, seed: 3 })
    const train = pairsOf(out.train)
    const validation = pairsOf(out.validation)
    expect(train.length + validation.length).toBe(600)
    const trainIds = new Set(train.map(promptId))
    const validationIds = new Set(validation.map(promptId))
    expect([...validationIds].filter((id) => trainIds.has(id))).toEqual([])
    expect(validation.length).toBe(3 * validationIds.size)
    // 200 groups at p = 0.25: mean 50, sd ≈ 6.1.
    expect(validationIds.size).toBeGreaterThan(30)
    expect(validationIds.size).toBeLessThan(70)
    expect(train).toEqual(pairs.filter((p) => trainIds.has(promptId(p))))
    const reseeded = await runStage(Split, { pairs: pairsTable(pairs) }, { validationFraction: 0.25, seed: 4 })
    expect(new Set(pairsOf(reseeded.validation).map(promptId))).not.toEqual(validationIds)
  })

  it("fractions 0 and 1 put everything on one side", async () => {
    const none = await runStage(Split, { pairs: pairsTable(pairs) }, { validationFraction: 0 })
    expect([none.train.numRows, none.validation.numRows]).toEqual([600, 0])
    const all = await runStage(Split, { pairs: pairsTable(pairs) }, { validationFraction: 1 })
    expect([all.train.numRows, all.validation.numRows]).toEqual([0, 600])
  })

  it("groupBy conversation keeps the later turns of one conversation with its first", async () => {
    const turns = (i: number, depth: number): PreferencePair => ({
      ...pair("", `yes ${i}.${depth}`, `no ${i}.${depth}`),
      prompt: [{ role: "system", content: "Be kind." }, ...Array.from({ length: depth }, (_, d) => [
        { role: "user" as const, content: d === 0 ? `conversation ${i} opens` : `follow-up ${d}` },
        { role: "assistant" as const, content: `reply ${d}` }
      ]).flat(), { role: "user", content: depth === 0 ? `conversation ${i} opens` : `follow-up ${depth}` }]
    })
    const conversations = Array.from({ length: 60 }, (_, i) => [0, 1, 2].map((d) => turns(i, d))).flat()
    const byConversation = await runStage(Split, { pairs: pairsTable(conversations) }, { validationFraction: 0.5, groupBy: "conversation" })
    const id = (p: PreferencePair) => /conversation (\d+)/.exec(p.prompt[1]!.content)![1]
    const side = new Map<string, string>()
    for (const [name, t] of [["train", byConversation.train], ["validation", byConversation.validation]] as const) {
      for (const p of pairsOf(t)) {
        expect(side.get(id(p)) ?? name).toBe(name)
        side.set(id(p), name)
      }
    }
    // By prompt, the three turns of a conversation are three groups: some conversations straddle.
    const byPrompt = await runStage(Split, { pairs: pairsTable(conversations) }, { validationFraction: 0.5 })
    const trainIds = new Set(pairsOf(byPrompt.train).map(id))
    expect(pairsOf(byPrompt.validation).some((p) => trainIds.has(id(p)))).toBe(true)
    expect(Table.toRows(byConversation.train).length + Table.toRows(byConversation.validation).length).toBe(180)
  })
})
