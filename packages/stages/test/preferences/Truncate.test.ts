import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { readPreferences, truncatePairs, truncatePrompt } from "../../src/preferences/index.ts"
import type { ChatTurn, Codec, PreferencePair } from "../../src/preferences/index.ts"
import { preferenceFile } from "./SharedData.ts"

// One token per UTF-16 code unit: exact to decode, so expected strings can be written by hand.
const chars: Codec = { encode: (s) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i)), decode: (ids) => String.fromCharCode(...ids) }
// One token per word, decoding with single spaces.
const words: Codec = (() => {
  const vocab: string[] = []
  const ids = new Map<string, number>()
  const id = (w: string) => ids.get(w) ?? (ids.set(w, vocab.length), vocab.push(w) - 1)
  return { encode: (s) => s.split(" ").filter(Boolean).map(id), decode: (t) => t.map((i) => vocab[i]).join(" ") }
})()

const turns: ChatTurn[] = [{ role: "system", content: "sssss" }, { role: "user", content: "uuuu" }, { role: "assistant", content: "aaa" }]
const pair = (prompt: ChatTurn[], chosen: string, rejected: string): PreferencePair =>
  ({ prompt, chosen, rejected, source: "t", annotator: "x", category: "c" })

describe("truncatePrompt", () => {
  it("drops whole earliest turns first, then cuts the earliest kept turn from the left", () => {
    expect(truncatePrompt(turns, 12, chars)).toEqual({ turns, truncated: false })
    expect(truncatePrompt(turns, 8, chars).turns).toEqual([{ role: "system", content: "s" }, turns[1], turns[2]])
    expect(truncatePrompt(turns, 7, chars).turns).toEqual([turns[1], turns[2]])
    expect(truncatePrompt(turns, 5, chars).turns).toEqual([{ role: "user", content: "uu" }, turns[2]])
    expect(truncatePrompt(turns, 2, chars)).toEqual({ turns: [{ role: "assistant", content: "aa" }], truncated: true })
    expect(truncatePrompt([{ role: "user", content: "one two three four" }], 2, words).turns[0]!.content).toBe("three four")
  })
})

describe("truncatePairs", () => {
  it("keeps response starts, counts what it cut, and drops pairs that become identical", () => {
    const pairs = [
      pair(turns, "short", "tiny"), // within budget: unchanged
      pair(turns, "chosen response", "rejected response"), // responses cut
      pair([{ role: "user", content: "a long question here" }], "same start A", "same start B"), // identical after cut
      pair([{ role: "user", content: "q" }], "tie", "tie") // already identical
    ]
    const { pairs: out, counts } = truncatePairs(pairs, { ...chars, maxPromptTokens: 10, maxResponseTokens: 10 })
    expect(out).toEqual([
      pair([{ role: "system", content: "sss" }, turns[1]!, turns[2]!], "short", "tiny"),
      pair([{ role: "system", content: "sss" }, turns[1]!, turns[2]!], "chosen res", "rejected r")
    ])
    expect(counts).toEqual({ promptTruncated: 2, responseTruncated: 1, droppedIdentical: 2 })
    expect(() => truncatePairs(pairs, { ...chars, maxPromptTokens: -1, maxResponseTokens: 3 })).toThrow(/maxPromptTokens/)
  })

  it("fits every budget and changes nothing that already fits (property)", () => {
    const turn = fc.record({ role: fc.constantFrom("system" as const, "user" as const, "assistant" as const), content: fc.string({ maxLength: 12 }) })
    const arbitraryPair = fc.tuple(fc.array(turn, { maxLength: 4 }), fc.string({ maxLength: 15 }), fc.string({ maxLength: 15 })).map(([p, c, r]) => pair(p, c, r))
    fc.assert(fc.property(fc.array(arbitraryPair, { maxLength: 10 }), fc.nat(30), fc.nat(20), (pairs, maxPromptTokens, maxResponseTokens) => {
      const { pairs: out, counts } = truncatePairs(pairs, { ...chars, maxPromptTokens, maxResponseTokens })
      expect(out.length + counts.droppedIdentical).toBe(pairs.length)
      for (const p of out) {
        expect(p.prompt.reduce((n, t) => n + t.content.length, 0)).toBeLessThanOrEqual(maxPromptTokens)
        expect(Math.max(p.chosen.length, p.rejected.length)).toBeLessThanOrEqual(maxResponseTokens)
        expect(p.chosen).not.toBe(p.rejected)
      }
      const fits = (p: PreferencePair) => p.chosen !== p.rejected && p.chosen.length <= maxResponseTokens && p.rejected.length <= maxResponseTokens &&
        p.prompt.reduce((n, t) => n + t.content.length, 0) <= maxPromptTokens
      expect(out.filter((p) => pairs.some((q) => fits(q) && JSON.stringify(q) === JSON.stringify(p))).length).toBe(pairs.filter(fits).length)
    }))
  })

  it("truncates the real hh-rlhf pairs within budget", () => {
    const { pairs } = readPreferences(preferenceFile("hh-rlhf-harmless.jsonl.gz"))
    const { pairs: out, counts } = truncatePairs(pairs, { ...chars, maxPromptTokens: 256, maxResponseTokens: 64 })
    expect(out.length + counts.droppedIdentical).toBe(pairs.length)
    expect(counts.responseTruncated).toBeGreaterThan(pairs.length / 2)
    expect(counts.promptTruncated).toBeGreaterThan(0)
    // With one token per code unit, truncation is plain slicing: check it pair by pair.
    const survivors = pairs.filter((p) => p.chosen.slice(0, 64) !== p.rejected.slice(0, 64))
    expect(counts.droppedIdentical).toBe(pairs.length - survivors.length)
    survivors.forEach((original, k) => {
      const p = out[k]!
      expect([p.chosen, p.rejected]).toEqual([original.chosen.slice(0, 64), original.rejected.slice(0, 64)])
      expect(original.prompt.at(-1)!.content.endsWith(p.prompt.at(-1)!.content)).toBe(true)
      expect(p.prompt.reduce((n, t) => n + t.content.length, 0)).toBeLessThanOrEqual(256)
    })
  })
})
