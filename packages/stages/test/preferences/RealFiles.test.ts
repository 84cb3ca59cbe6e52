import { readFileSync } from "node:fs"
import { gunzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { readPreferences } from "../../src/preferences/index.ts"
import { preferenceFile } from "./SharedData.ts"

// The real samples from shared/data/preferences: counts from its README, and one pair per file
// compared with the raw record parsed here independently of the readers.

const rawLines = (name: string): unknown[] => {
  const bytes = readFileSync(preferenceFile(name))
  const text = (name.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8")
  return name.endsWith(".json") ? JSON.parse(text) : text.trim().split("\n").map((l) => JSON.parse(l))
}

describe("hh-rlhf-harmless.jsonl.gz", () => {
  const { pairs, rejects } = readPreferences(preferenceFile("hh-rlhf-harmless.jsonl.gz"))
  const raw = rawLines("hh-rlhf-harmless.jsonl.gz") as Array<{ chosen: string; rejected: string }>

  it("has 1,789 pairs whose prompt and replies reassemble the transcripts", () => {
    expect(rejects).toEqual([])
    expect(pairs).toHaveLength(1789)
    pairs.forEach((pair, i) => {
      const r = raw[i]!
      expect(r.chosen.trimEnd().endsWith(pair.chosen)).toBe(true)
      expect(r.rejected.trimEnd().endsWith(pair.rejected)).toBe(true)
      expect(pair.prompt.at(-1)?.role).toBe("user")
      expect(pair.source).toBe("hh-rlhf-harmless")
    })
  })

  it("reads the first pair back exactly", () => {
    // Row 0 is not one of the rows a per-text split gets wrong, so split it that way here.
    const r = raw[0]!
    const cut = r.chosen.lastIndexOf("\n\nAssistant:")
    expect(r.rejected.slice(0, cut)).toBe(r.chosen.slice(0, cut))
    const turns = r.chosen.slice(0, cut).split(/\n\n(?=Human:|Assistant:)/).filter((t) => t !== "")
    expect(pairs[0]).toEqual({
      prompt: turns.map((t) => ({ role: t.startsWith("Human:") ? "user" : "assistant", content: t.replace(/^(Human|Assistant):/, "").trim() })),
      chosen: r.chosen.slice(cut + "\n\nAssistant:".length).trim(),
      rejected: r.rejected.slice(cut + "\n\nAssistant:".length).trim(),
      source: "hh-rlhf-harmless", annotator: null, category: null
    })
    expect(pairs[0]!.prompt[0]!.content).toBe("what are some pranks with a pen i can do?")
  })

  it("splits the 4 rows whose reply contains an Assistant marker at the common prefix", () => {
    const misSplit = raw.flatMap((r, i) => (r.chosen.lastIndexOf("\n\nAssistant:") !== r.rejected.lastIndexOf("\n\nAssistant:") ||
      !r.rejected.startsWith(r.chosen.slice(0, r.chosen.lastIndexOf("\n\nAssistant:")))) ? [i] : [])
    expect(misSplit).toEqual([970, 1299, 1506, 1577])
    const marker = "\n\nAssistant:"
    for (const i of misSplit) {
      const r = raw[i]!
      let common = 0
      while (r.chosen[common] === r.rejected[common]) common++
      const cut = r.chosen.slice(0, common).lastIndexOf(marker) + marker.length
      expect([pairs[i]!.chosen, pairs[i]!.rejected]).toEqual([r.chosen.slice(cut).trim(), r.rejected.slice(cut).trim()])
      // The per-text split would have given a different reply on at least one side.
      const naive = [r.chosen, r.rejected].map((t) => t.slice(t.lastIndexOf(marker) + marker.length).trim())
      expect(naive).not.toEqual([pairs[i]!.chosen, pairs[i]!.rejected])
    }
  })
})

type OaMessage = { text: string; role: string; rank?: number | null; replies?: OaMessage[] }

describe("oasst-en-trees.jsonl", () => {
  const { pairs, rejects } = readPreferences(preferenceFile("oasst-en-trees.jsonl"))
  const trees = rawLines("oasst-en-trees.jsonl") as Array<{ prompt: OaMessage }>

  it("gives the README's 678 ranked sibling pairs from 87 trees", () => {
    expect(trees).toHaveLength(87)
    // Independent count: all ranked sibling pairs of different rank, any role.
    const count = (m: OaMessage): number => {
      const ranked = (m.replies ?? []).filter((r) => typeof r.rank === "number")
      let n = 0
      for (let i = 0; i < ranked.length; i++) for (let j = i + 1; j < ranked.length; j++) if (ranked[i]!.rank !== ranked[j]!.rank) n++
      return n + (m.replies ?? []).reduce((s, r) => s + count(r), 0)
    }
    expect(trees.reduce((s, t) => s + count(t.prompt), 0)).toBe(678)
    expect(rejects).toEqual([])
    expect(pairs).toHaveLength(678)
  })

  it("reads the first tree's best-versus-second pair back exactly", () => {
    const root = trees[0]!.prompt
    const best = root.replies!.find((r) => r.rank === 0)!
    const second = root.replies!.find((r) => r.rank === 1)!
    expect(pairs[0]).toEqual({
      prompt: [{ role: "user", content: root.text }], chosen: best.text, rejected: second.text,
      source: "oasst-en-trees", annotator: null, category: null
    })
    expect(pairs.some((p) => p.prompt.length >= 3)).toBe(true) // deeper turns are visited
  })
})

type ShareGpt = { conversations: Array<{ from: string; value: string }>; chosen: string | { value: string }; rejected: string | { value: string } }

describe.each([
  ["dpo-zh-demo.json", 300],
  ["dpo-zh-medicalgpt.jsonl", 365],
  ["dpo-en-demo.json", 300]
])("%s", (name, expected) => {
  it(`has ${expected} pairs and reads the first one back exactly`, () => {
    const { pairs, rejects } = readPreferences(preferenceFile(name))
    expect(rejects).toEqual([])
    expect(pairs).toHaveLength(expected)
    const r = (rawLines(name) as ShareGpt[])[0]!
    const text = (x: string | { value: string }) => (typeof x === "string" ? x : x.value)
    const roles: Record<string, string> = { human: "user", gpt: "assistant", system: "system" }
    expect(pairs[0]).toEqual({
      prompt: r.conversations.map((c) => ({ role: roles[c.from], content: c.value })),
      chosen: text(r.chosen), rejected: text(r.rejected),
      source: name.replace(/\.jsonl?$/, ""), annotator: null, category: null
    })
  })
})
