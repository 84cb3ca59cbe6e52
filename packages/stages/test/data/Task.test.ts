import { Table } from "@rlhf/core"
import { describe, expect, it } from "vitest"
import { TaskCorpus } from "../../src/data/TaskCorpus.ts"
import { TaskEvalPrompts } from "../../src/data/TaskEvalPrompts.ts"
import { TaskPreferences } from "../../src/data/TaskPreferences.ts"
import { TaskRlPrompts } from "../../src/data/TaskRlPrompts.ts"
import { TaskSft } from "../../src/data/TaskSft.ts"
import { lengthStats } from "../../src/preferences/LengthBias.ts"
import { pairsOf } from "../../src/schemas/PreferenceRow.ts"
import { judge, preferencePairs } from "../../src/task/index.ts"
import { runStage } from "./RunStage.ts"

const userText = (prompt: ReadonlyArray<{ role: string; content: string }>) => {
  expect(prompt).toHaveLength(1)
  expect(prompt[0]!.role).toBe("user")
  return prompt[0]!.content
}

describe("built-in task stages", () => {
  it("task-preferences: the generator's pairs as PreferenceRows with source 'task', seeded", async () => {
    const out = await runStage(TaskPreferences, {}, { n: 300, seed: 7 })
    const pairs = pairsOf(out.pairs)
    expect(pairs.map((p) => ({ prompt: userText(p.prompt), chosen: p.chosen, rejected: p.rejected }))).toEqual(preferencePairs(300, 7))
    expect(new Set(pairs.map((p) => [p.source, p.annotator, p.category].join()))).toEqual(new Set(["task,,"]))
    const again = await runStage(TaskPreferences, {}, { n: 300, seed: 7 })
    expect(Table.toRows(again.pairs)).toEqual(Table.toRows(out.pairs))
    const other = await runStage(TaskPreferences, {}, { n: 300, seed: 8 })
    expect(Table.toRows(other.pairs)).not.toEqual(Table.toRows(out.pairs))
  })

  it("task-preferences: lengthBias is the knob of the annotators' length preference", async () => {
    const share = async (lengthBias: number) =>
      lengthStats(pairsOf((await runStage(TaskPreferences, {}, { n: 1500, lengthBias })).pairs), (t) => t.length).longerWinsShare
    const [unbiased, biased, always] = [await share(0), await share(0.5), await share(1)]
    // README: ≈ 0.46 unbiased, ≈ 0.75 with the default bias; bias 1 always picks the longer.
    expect(unbiased).toBeGreaterThan(0.35)
    expect(unbiased).toBeLessThan(0.57)
    expect(biased).toBeGreaterThan(0.65)
    expect(biased).toBeLessThan(0.85)
    expect(always).toBe(1)
  })

  it("task-sft: n demonstrations on training prompts, about half gold", async () => {
    const rows = Table.toRows((await runStage(TaskSft, {}, { n: 400 })).examples)
    expect(rows).toHaveLength(400)
    const gold = rows.filter((r) => judge(userText(r.prompt), r.response) === 1).length
    expect(gold / 400).toBeGreaterThan(0.4)
    expect(gold / 400).toBeLessThan(0.6)
    expect(new Set(rows.map((r) => r.source))).toEqual(new Set(["task"]))
  })

  it("rl and eval prompts are disjoint; eval defaults to the 38 held-out prompts once each", async () => {
    const rl = Table.toRows((await runStage(TaskRlPrompts, {}, { n: 500 })).prompts).map((r) => userText(r.prompt))
    const evalRows = Table.toRows((await runStage(TaskEvalPrompts, {}, {})).prompts)
    const evals = evalRows.map((r) => userText(r.prompt))
    expect(rl).toHaveLength(500)
    expect(evals).toHaveLength(38)
    expect(new Set(evals).size).toBe(38)
    expect(evals.filter((p) => rl.includes(p))).toEqual([])
    expect(new Set(evalRows.map((r) => r.source))).toEqual(new Set(["task"]))
  })

  it("task-corpus: about nChars of text, one non-empty line per document", async () => {
    const docs = Table.columnValues((await runStage(TaskCorpus, {}, { nChars: 5000, seed: 3 })).documents, "text")
    const total = docs.join("\n").length
    expect(total).toBeLessThanOrEqual(5000)
    expect(total).toBeGreaterThan(4950)
    expect(docs.every((d) => d !== "" && !d.includes("\n"))).toBe(true)
    expect(docs.some((d) => / is a /.test(d))).toBe(true)
  })
})
