import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { Table } from "@rlhf/core"
import { describe, expect, it } from "vitest"
import { Preferences } from "../../src/data/Preferences.ts"
import { RecordError } from "../../src/data/DataErrors.ts"
import { pairsOf } from "../../src/schemas/PreferenceRow.ts"
import { runStage, sharedData, stageError } from "./RunStage.ts"

const prefs = (name: string) => join(sharedData(), "preferences", name)
const jsonl = (...records: unknown[]): string => records.map((r) => JSON.stringify(r)).join("\n") + "\n"

describe("preferences stage on the real files", () => {
  it.each([
    ["hh-rlhf-harmless.jsonl.gz", 1789],
    ["oasst-en-trees.jsonl", 678],
    ["dpo-en-demo.json", 300],
    ["dpo-zh-demo.json", 300],
    ["dpo-zh-medicalgpt.jsonl", 365]
  ])("reads %s: %i pairs, no rejects", async (name, count) => {
    const out = await runStage(Preferences, {}, { path: prefs(name) })
    expect(out.pairs.numRows).toBe(count)
    expect(out.rejects.numRows).toBe(0)
    const sources = new Set(Table.columnValues(out.pairs, "source"))
    expect(sources).toEqual(new Set([name.replace(/\.(jsonl\.gz|jsonl|json)$/, "")]))
  })

  it("reads several files into one table, in order, and a sample pair back exactly", async () => {
    const out = await runStage(Preferences, {}, { path: [prefs("dpo-en-demo.json"), prefs("dpo-zh-medicalgpt.jsonl")] })
    expect(out.pairs.numRows).toBe(665)
    const pairs = pairsOf(out.pairs)
    // MedicalGPT record 0, parsed here independently: {conversations: [{from, value}], chosen, rejected}.
    const raw = JSON.parse(readFileSync(prefs("dpo-zh-medicalgpt.jsonl"), "utf8").split("\n")[0]!) as {
      conversations: Array<{ from: string; value: string }>; chosen: string; rejected: string
    }
    expect(raw.conversations.map((c) => c.from)).toEqual(["human"])
    expect(pairs[300]).toEqual({
      prompt: [{ role: "user", content: raw.conversations[0]!.value }],
      chosen: raw.chosen, rejected: raw.rejected, source: "dpo-zh-medicalgpt", annotator: null, category: null
    })
    // hh row 0 has its prompt's first user turn verbatim.
    const hh = await runStage(Preferences, {}, { path: prefs("hh-rlhf-harmless.jsonl.gz"), source: "hh" })
    const first = Table.toRows(hh.pairs)[0]!
    const rawHh = JSON.parse(gunzipSync(readFileSync(prefs("hh-rlhf-harmless.jsonl.gz"))).toString("utf8").split("\n")[0]!) as { chosen: string }
    expect(first.prompt[0]).toEqual({ role: "user", content: "what are some pranks with a pen i can do?" })
    expect(rawHh.chosen.trimEnd().endsWith(first.chosen)).toBe(true)
    expect(first.source).toBe("hh")
  })
})

describe("preferences stage on malformed files", () => {
  const dir = mkdtempSync(join(tmpdir(), "prefs-stage-"))
  writeFileSync(join(dir, "bad.jsonl"), [
    JSON.stringify({ prompt: "a", chosen: "b", rejected: "c" }),
    JSON.stringify({ prompt: "d", chosen: 3, rejected: "f" }),
    "{not json",
    JSON.stringify({ prompt: "g", chosen: "h", rejected: "i", category: "x" })
  ].join("\n"))
  writeFileSync(join(dir, "good.jsonl"), jsonl({ prompt: "p", chosen: "q", rejected: "r" }))

  it("fails with the reader's file, line and field, resolving paths against StageInfo.cwd", async () => {
    const error = await stageError(Preferences, {}, { path: ["good.jsonl", "bad.jsonl"] }, dir)
    expect(error).toBeInstanceOf(RecordError)
    const e = error as RecordError
    expect([e.file, e.line, e.field]).toEqual(["bad.jsonl", 2, "chosen"])
    expect(e.message).toMatch(/^bad\.jsonl:2: field "chosen": expected .*, got number 3\. Fix the record/)
    expect(e.message).toContain("--set node.skipInvalid=true")
  })

  it("with skipInvalid, skips malformed records and lists them in rejects", async () => {
    const out = await runStage(Preferences, {}, { path: ["good.jsonl", "bad.jsonl"], skipInvalid: true, source: "mine" }, dir)
    expect(pairsOf(out.pairs)).toEqual([
      { prompt: [{ role: "user", content: "p" }], chosen: "q", rejected: "r", source: "mine", annotator: null, category: null },
      { prompt: [{ role: "user", content: "a" }], chosen: "b", rejected: "c", source: "mine", annotator: null, category: null },
      { prompt: [{ role: "user", content: "g" }], chosen: "h", rejected: "i", source: "mine", annotator: null, category: "x" }
    ])
    expect(Table.toRows(out.rejects).map((r) => [r.file, r.line, r.field])).toEqual([["bad.jsonl", 2, "chosen"], ["bad.jsonl", 3, "(json)"]])
  })

  it("names a missing file, and an undetectable format even under skipInvalid", async () => {
    const missing = await stageError(Preferences, {}, { path: "nope.jsonl" }, dir)
    expect((missing as Error).message).toMatch(/cannot read nope\.jsonl: .*ENOENT.*--set node\.path=/)
    writeFileSync(join(dir, "odd.jsonl"), jsonl({ question: "?", answer: "!" }))
    const odd = await stageError(Preferences, {}, { path: "odd.jsonl", skipInvalid: true }, dir)
    expect(odd).toBeInstanceOf(RecordError)
    expect((odd as Error).message).toMatch(/odd\.jsonl:1: .*cannot detect the preference format \(keys: question, answer\)/)
  })

  it("declares every path as a file of its cache key", () => {
    expect(Preferences.files!({ path: "a.jsonl", format: "auto", skipInvalid: false })).toEqual(["a.jsonl"])
    expect(Preferences.files!({ path: ["a.jsonl", "b.json"], format: "auto", skipInvalid: false })).toEqual(["a.jsonl", "b.json"])
  })
})
