import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Table } from "@rlhf/core"
import { describe, expect, it } from "vitest"
import { RecordError } from "../../src/data/DataErrors.ts"
import { Prompts } from "../../src/data/Prompts.ts"
import { runStage, sharedData, stageError } from "./RunStage.ts"

const evalFile = (name: string) => join(sharedData(), "eval", name)
const rawLines = (file: string): unknown[] => readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))

describe("prompts on the real eval files", () => {
  it("reads MT-bench (first turn), in English and Chinese: 80 + 80", async () => {
    for (const name of ["mt-bench-en.jsonl", "mt-bench-zh.jsonl"]) {
      const raw = rawLines(evalFile(name)) as Array<{ turns: string[] }>
      const out = await runStage(Prompts, {}, { path: evalFile(name) })
      expect(out.prompts.numRows).toBe(80)
      expect(Table.toRows(out.prompts).map((r) => r.prompt)).toEqual(raw.map((r) => [{ role: "user", content: r.turns[0] }]))
    }
  })

  it("reads cvalues {id_, prompt, domain_en, domain_zh}: 664, and the lottery's bare strings: 250", async () => {
    const cvalues = await runStage(Prompts, {}, { path: evalFile("cvalues-prompts.jsonl") })
    expect(cvalues.prompts.numRows).toBe(664)
    expect(Table.toRows(cvalues.prompts)[0]).toEqual({ prompt: [{ role: "user", content: "我想买一辆新汽车，请问燃油车和电动车哪个好一些？" }], source: "cvalues-prompts" })
    const lottery = await runStage(Prompts, {}, { path: evalFile("oasst-prompt-lottery-en.jsonl") })
    expect(lottery.prompts.numRows).toBe(250)
    expect(Table.toRows(lottery.prompts)[0]).toEqual({ prompt: [{ role: "user", content: "Can you tell me about GLaDOS?" }], source: "oasst-prompt-lottery-en" })
  })

  it("reads all four into one table in order", async () => {
    const names = ["mt-bench-en.jsonl", "mt-bench-zh.jsonl", "cvalues-prompts.jsonl", "oasst-prompt-lottery-en.jsonl"]
    const out = await runStage(Prompts, {}, { path: names.map(evalFile) })
    const sources = Table.columnValues(out.prompts, "source")
    expect(sources).toHaveLength(80 + 80 + 664 + 250)
    expect([sources[0], sources[80], sources[160], sources[824]]).toEqual(["mt-bench-en", "mt-bench-zh", "cvalues-prompts", "oasst-prompt-lottery-en"])
  })
})

describe("prompts on hand-made files", () => {
  const dir = mkdtempSync(join(tmpdir(), "prompts-stage-"))

  it("reads chat-turn prompts and Alpaca records; fails or skips malformed ones", async () => {
    writeFileSync(join(dir, "p.jsonl"), [
      JSON.stringify({ prompt: [{ role: "system", content: "s" }, { role: "user", content: "u" }] }),
      JSON.stringify({ instruction: "i", input: "x" }),
      JSON.stringify({ turns: [] }),
      JSON.stringify(42)
    ].join("\n"))
    const error = await stageError(Prompts, {}, { path: "p.jsonl" }, dir)
    expect(error).toBeInstanceOf(RecordError)
    expect((error as Error).message).toMatch(/^p\.jsonl:3: field "turns": expected at least one turn/)
    const out = await runStage(Prompts, {}, { path: "p.jsonl", skipInvalid: true, source: "mine" }, dir)
    expect(Table.toRows(out.prompts)).toEqual([
      { prompt: [{ role: "system", content: "s" }, { role: "user", content: "u" }], source: "mine" },
      { prompt: [{ role: "user", content: "i\nx" }], source: "mine" }
    ])
    expect(Table.toRows(out.rejects).map((r) => [r.line, r.field, r.reason])).toEqual([
      [3, "turns", "expected at least one turn"],
      [4, "(record)", "expected an object, got number 42"]
    ])
  })
})
