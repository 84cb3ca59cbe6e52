import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { tableFromArrays, tableToIPC } from "apache-arrow"
import { describe, expect, it } from "vitest"
import { baseName, PreferenceParseError, preferencesToArrow, readPreferences } from "../../src/preferences/index.ts"
import type { PreferencePair } from "../../src/preferences/index.ts"

const dir = mkdtempSync(join(tmpdir(), "prefs-"))
const write = (name: string, content: string | Uint8Array): string => {
  const file = join(dir, name)
  writeFileSync(file, content)
  return file
}
const jsonl = (...records: unknown[]): string => records.map((r) => JSON.stringify(r)).join("\n") + "\n"
const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  throw new Error("expected a throw")
}

describe("generic JSONL", () => {
  it("reads string and chat-turn prompts, metadata, and TRL-style responses", () => {
    const file = write("generic.jsonl", jsonl(
      { prompt: "Why is the sky blue?", chosen: "Rayleigh scattering.", rejected: "Paint." },
      { prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "2+2?" }], chosen: [{ role: "assistant", content: "4" }], rejected: "5", source: "math", annotator: "a7", category: "arith" }
    ))
    const { pairs, rejects } = readPreferences(file)
    expect(rejects).toEqual([])
    expect(pairs).toEqual<PreferencePair[]>([
      { prompt: [{ role: "user", content: "Why is the sky blue?" }], chosen: "Rayleigh scattering.", rejected: "Paint.", source: "generic", annotator: null, category: null },
      { prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "2+2?" }], chosen: "4", rejected: "5", source: "math", annotator: "a7", category: "arith" }
    ])
    expect(readPreferences(file, { source: "forced" }).pairs.map((p) => p.source)).toEqual(["forced", "forced"])
  })

  it("reports file, line and field of a malformed record, or skips it", () => {
    const file = write("bad.jsonl", [
      JSON.stringify({ prompt: "a", chosen: "b", rejected: "c" }),
      "",
      JSON.stringify({ prompt: [{ role: "robot", content: "x" }], chosen: "b", rejected: "c" }),
      "{not json",
      JSON.stringify({ prompt: "a", chosen: 3, rejected: "c" }),
      JSON.stringify({ prompt: "d", chosen: "e", rejected: "f" })
    ].join("\n"))
    const error = thrown(() => readPreferences(file, { format: "jsonl" }))
    expect(error).toBeInstanceOf(PreferenceParseError)
    expect(error).toBeInstanceOf(Error)
    const e = error as PreferenceParseError
    expect([e._tag, e.file, e.line, e.field]).toEqual(["PreferenceParseError", file, 3, "prompt[0].role"])
    expect(e.message).toContain(file)
    expect(e.message).toContain(":3:")
    expect(e.message).toContain("prompt[0].role")
    expect(e.message).toContain("robot")

    const { pairs, rejects } = readPreferences(file, { skipInvalid: true })
    expect(pairs.map((p) => p.chosen)).toEqual(["b", "e"])
    expect(rejects.map((r) => [r.file, r.line, r.field])).toEqual([[file, 3, "prompt[0].role"], [file, 4, "(json)"], [file, 5, "chosen"]])
    expect(rejects[2]!.reason).toContain("number 3")
  })
})

describe("Anthropic HH transcripts", () => {
  it("splits at the longest common prefix, not at each text's last Assistant marker", () => {
    const convo = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Tell me a story."
    const record = {
      // The chosen reply itself contains "\n\nAssistant:", which fools a per-text last-marker split.
      chosen: `${convo}\n\nAssistant: Once upon a time.\n\nAssistant: The end.`,
      rejected: `${convo}\n\nAssistant: No.`
    }
    const file = write("hh-sample.jsonl", jsonl(record, { chosen: "\n\nHuman: x\n\nAssistant: same ", rejected: "\n\nHuman: x\n\nAssistant: same" }))
    const { pairs } = readPreferences(file)
    expect(pairs[0]).toEqual({
      prompt: [{ role: "user", content: "Hi there" }, { role: "assistant", content: "Hello!" }, { role: "user", content: "Tell me a story." }],
      chosen: "Once upon a time.\n\nAssistant: The end.",
      rejected: "No.",
      source: "hh-sample", annotator: null, category: null
    })
    // Replies are trimmed, so two transcripts differing only in trailing space become a tie (Dedupe drops it).
    expect([pairs[1]!.chosen, pairs[1]!.rejected]).toEqual(["same", "same"])
  })

  it("rejects transcripts that share no assistant turn", () => {
    const file = write("hh-bad.jsonl", jsonl({ chosen: "\n\nHuman: a\n\nAssistant: b", rejected: "\n\nHuman: c\n\nAssistant: d" }))
    const e = thrown(() => readPreferences(file, { format: "hh" })) as PreferenceParseError
    expect([e.line, e.field]).toEqual([1, "chosen"])
  })
})

describe("Open-Assistant trees", () => {
  const reply = (text: string, rank: number | null, replies: unknown[] = [], extra: object = {}) =>
    ({ text, role: "assistant", rank, replies, ...extra })
  const tree = {
    message_tree_id: "t1",
    prompt: {
      text: "Q1", role: "prompter", replies: [
        reply("A", 1),
        reply("B", 0, [{ text: "Q2", role: "prompter", rank: 0, replies: [reply("C", 1), reply("D", 0), reply("E", 1)] },
          { text: "Q2b", role: "prompter", rank: 1, replies: [] }]),
        reply("U", null),
        reply("X", 2, [], { deleted: true }),
        reply("F", 2)
      ]
    }
  }

  it("pairs ranked assistant siblings at every depth, with the path as prompt", () => {
    const { pairs } = readPreferences(write("oa.jsonl", jsonl(tree)))
    const short = pairs.map((p) => [p.prompt.map((t) => `${t.role[0]}:${t.content}`).join(" "), p.chosen, p.rejected])
    expect(short).toEqual([
      ["u:Q1", "B", "A"], ["u:Q1", "A", "F"], ["u:Q1", "B", "F"],
      // C and E share rank 1: no pair between them. Prompter siblings Q2/Q2b give no pair.
      ["u:Q1 a:B u:Q2", "D", "C"], ["u:Q1 a:B u:Q2", "D", "E"]
    ])
    expect(pairs.every((p) => p.annotator === null && p.source === "oa")).toBe(true)
  })

  it("names the path of a bad rank", () => {
    const bad = structuredClone(tree) as { prompt: { replies: Array<{ rank: unknown }> } }
    bad.prompt.replies[1]!.rank = "first"
    const file = write("oa-bad.jsonl", jsonl(tree, bad))
    const e = thrown(() => readPreferences(file)) as PreferenceParseError
    expect([e.line, e.field]).toEqual([2, "prompt.replies[1].rank"])
    expect(readPreferences(file, { skipInvalid: true }).pairs).toHaveLength(5)
  })
})

describe("ShareGPT / LLaMA-Factory DPO", () => {
  const records = [
    { conversations: [{ from: "system", value: "sys" }, { from: "human", value: "hi" }, { from: "gpt", value: "hello" }, { from: "human", value: "bye?" }], chosen: { from: "gpt", value: "bye" }, rejected: { from: "gpt", value: "no" } },
    { conversations: [{ from: "human", value: "q" }], chosen: "good", rejected: "bad", system: "be nice" }
  ]
  const expected: PreferencePair[] = [
    { prompt: [{ role: "system", content: "sys" }, { role: "user", content: "hi" }, { role: "assistant", content: "hello" }, { role: "user", content: "bye?" }], chosen: "bye", rejected: "no", source: "sg", annotator: null, category: null },
    { prompt: [{ role: "system", content: "be nice" }, { role: "user", content: "q" }], chosen: "good", rejected: "bad", source: "sg", annotator: null, category: null }
  ]

  it("reads JSON arrays, JSONL and gzip of either, detected by content", () => {
    expect(readPreferences(write("sg.json", JSON.stringify(records, null, 2))).pairs).toEqual(expected)
    expect(readPreferences(write("sg.jsonl", jsonl(...records))).pairs).toEqual(expected)
    // Gzip is found by magic bytes, not by the name.
    expect(readPreferences(write("sg.json.gz", gzipSync(JSON.stringify(records)))).pairs).toEqual(expected)
    expect(readPreferences(write("sg", gzipSync(jsonl(...records)))).pairs).toEqual(expected)
  })

  it("gives the line where a bad array element starts", () => {
    const bad = [records[0], { ...records[1], conversations: [{ from: "human", value: "q" }, { from: "narrator", value: "?" }] }]
    const file = write("sg-bad.json", JSON.stringify(bad, null, 2))
    const e = thrown(() => readPreferences(file)) as PreferenceParseError
    const text = JSON.stringify(bad, null, 2).split("\n")
    const startLine = text.findIndex((l, i) => i > 1 && l === "  {") + 1
    expect([e.line, e.field]).toEqual([startLine, "conversations[1].from"])
    expect(e.line).toBeGreaterThan(20)
  })

  it("throws even with skipInvalid when a JSON array does not parse at all", () => {
    const file = write("broken.json", '[\n  {"conversations": []},\n  {oops}\n]')
    const e = thrown(() => readPreferences(file, { skipInvalid: true })) as PreferenceParseError
    expect([e.line, e.field]).toEqual([3, "(json)"])
  })
})

describe("Arrow IPC", () => {
  const pairs: PreferencePair[] = [
    { prompt: [{ role: "system", content: "s" }, { role: "user", content: "你好" }], chosen: "a", rejected: "b", source: "x", annotator: null, category: "c" },
    { prompt: [{ role: "user", content: "q" }], chosen: "a2", rejected: "b2", source: "y", annotator: "ann", category: null }
  ]

  it("round-trips pairs, also gzipped, with record sources unless overridden", () => {
    const bytes = preferencesToArrow(pairs)
    expect(readPreferences(write("p.arrow", bytes)).pairs).toEqual(pairs)
    expect(readPreferences(write("p2.bin", gzipSync(bytes))).pairs).toEqual(pairs)
    expect(readPreferences(write("p3.arrow", bytes), { source: "s" }).pairs.map((p) => p.source)).toEqual(["s", "s"])
  })

  it("reports the row of a bad value and a missing column", () => {
    const withBadRole = preferencesToArrow([pairs[0]!, { ...pairs[1]!, prompt: [{ role: "robot" as "user", content: "q" }] }])
    const file = write("bad.arrow", withBadRole)
    const e = thrown(() => readPreferences(file)) as PreferenceParseError
    expect([e.line, e.field]).toEqual([2, "prompt[0].role"])
    expect(readPreferences(file, { skipInvalid: true }).rejects.map((r) => r.line)).toEqual([2])
    const noRejected = tableToIPC(tableFromArrays({ chosen: ["a"], prompt: ["q"] }), "file")
    const missing = thrown(() => readPreferences(write("missing.arrow", noRejected), { skipInvalid: true })) as PreferenceParseError
    expect([missing.line, missing.field]).toEqual([1, "rejected"])
  })
})

describe("format detection and names", () => {
  it("fails clearly on unknown records and reads empty files as empty", () => {
    const e = thrown(() => readPreferences(write("odd.jsonl", jsonl({ question: "q", answer: "a" })))) as PreferenceParseError
    expect(e.message).toContain("question, answer")
    expect(e.message).toContain("format:")
    expect(readPreferences(write("empty.jsonl", "\n"))).toEqual({ pairs: [], rejects: [] })
  })

  it("strips stacked data extensions from the default source", () => {
    expect(baseName("/a/b/hh-rlhf-harmless.jsonl.gz")).toBe("hh-rlhf-harmless")
    expect(baseName("v1.2-data.json")).toBe("v1.2-data")
  })
})
