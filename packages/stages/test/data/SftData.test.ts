import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Table } from "@rlhf/core"
import { describe, expect, it } from "vitest"
import { RecordError } from "../../src/data/DataErrors.ts"
import { SftData } from "../../src/data/SftData.ts"
import { runStage, sharedData, stageError } from "./RunStage.ts"

const dir = mkdtempSync(join(tmpdir(), "sft-stage-"))
const write = (name: string, lines: ReadonlyArray<string>) => writeFileSync(join(dir, name), lines.join("\n") + "\n")

describe("sft-data on identity.json", () => {
  it("reads all 91 Alpaca records with {{name}}/{{author}} filled from params", async () => {
    const file = join(sharedData(), "sft/identity.json")
    const raw = JSON.parse(readFileSync(file, "utf8")) as Array<{ instruction: string; input: string; output: string }>
    const out = await runStage(SftData, {}, { path: file, name: "Glimmer", author: "Tiny Lab" })
    const rows = Table.toRows(out.examples)
    expect(rows).toHaveLength(91)
    expect(out.rejects.numRows).toBe(0)
    rows.forEach((row, i) => {
      expect(row.prompt).toEqual([{ role: "user", content: raw[i]!.instruction }])
      expect(row.response).toBe(raw[i]!.output.replaceAll("{{name}}", "Glimmer").replaceAll("{{author}}", "Tiny Lab"))
      expect(row.response).not.toMatch(/\{\{|\}\}/)
      expect(row.source).toBe("identity")
    })
    expect(rows[0]).toEqual({ prompt: [{ role: "user", content: "hi" }], response: "Hello! I am Glimmer, an AI assistant developed by Tiny Lab. How can I assist you today?", source: "identity" })
  })
})

describe("sft-data on JSONL", () => {
  write("mixed.jsonl", [
    JSON.stringify({ prompt: "count to 3", response: "1 2 3." }),
    JSON.stringify({ prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }], response: "hi." }),
    JSON.stringify({ instruction: "Translate", input: "bonjour", output: "hello", system: "You translate.", history: [["q", "a"]] }),
    "",
    JSON.stringify({ instruction: "Say {{name}}", output: "{{name}} by {{author}}; {{other}} stays" })
  ])

  it("reads {prompt, response} and Alpaca records, with system prompts and history", async () => {
    const out = await runStage(SftData, {}, { path: "mixed.jsonl", source: "demo", name: "N", author: "A" }, dir)
    expect(Table.toRows(out.examples)).toEqual([
      { prompt: [{ role: "user", content: "count to 3" }], response: "1 2 3.", source: "demo" },
      { prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }], response: "hi.", source: "demo" },
      {
        prompt: [{ role: "system", content: "You translate." }, { role: "user", content: "q" }, { role: "assistant", content: "a" }, { role: "user", content: "Translate\nbonjour" }],
        response: "hello", source: "demo"
      },
      { prompt: [{ role: "user", content: "Say N" }], response: "N by A; {{other}} stays", source: "demo" }
    ])
  })

  it("fails on a malformed line naming file, line and field; skipInvalid counts the skipped lines in rejects", async () => {
    write("bad.jsonl", [
      JSON.stringify({ prompt: "a", response: "b" }),
      JSON.stringify({ prompt: "c", response: ["d"] }),
      "{oops",
      JSON.stringify({ question: "?" }),
      JSON.stringify({ instruction: "e", output: "f" })
    ])
    const error = await stageError(SftData, {}, { path: "bad.jsonl" }, dir)
    expect(error).toBeInstanceOf(RecordError)
    expect((error as Error).message).toMatch(/^bad\.jsonl:2: field "response": expected a string, got an array\. Fix the record, or .*--set node\.skipInvalid=true/)
    const out = await runStage(SftData, {}, { path: "bad.jsonl", skipInvalid: true }, dir)
    expect(Table.toRows(out.examples).map((r) => r.response)).toEqual(["b", "f"])
    expect(Table.toRows(out.rejects).map((r) => [r.line, r.field])).toEqual([[2, "response"], [3, "(json)"], [4, "(record)"]])
    expect(Table.toRows(out.rejects)[2]!.reason).toMatch(/expected \{prompt, response\} or \{instruction, input, output\}; got keys question/)
  })

  it("a broken JSON array fails even under skipInvalid", async () => {
    writeFileSync(join(dir, "broken.json"), '[\n  {"prompt": "a", "response": "b"},\n  {"prompt": \n]')
    const error = await stageError(SftData, {}, { path: "broken.json", skipInvalid: true }, dir)
    expect(error).toBeInstanceOf(RecordError)
    expect((error as RecordError).fatal).toBe(true)
    expect((error as Error).message).toMatch(/^broken\.json:\d+: field "\(json\)": [\s\S]*Fix the file/)
  })
})
