import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { dedupe, edgesInCycles, jaccard, normalizeText, pairKey, promptKey, readPreferences, shingleHashes } from "../../src/preferences/index.ts"
import type { ChatTurn, PreferencePair } from "../../src/preferences/index.ts"
import { preferenceFile } from "./SharedData.ts"

const pair = (prompt: string | ChatTurn[], chosen: string, rejected: string): PreferencePair => ({
  prompt: typeof prompt === "string" ? [{ role: "user", content: prompt }] : prompt,
  chosen, rejected, source: "test", annotator: null, category: null
})

// Long pseudo-random word salad, different per topic, so that character shingles of two topics barely overlap.
const text = (topic: string, n: number): string => {
  let state = [...topic].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261)
  const next = () => ((state = Math.imul(state ^ (state >>> 15), 2246822519) + 0x6d2b79f5), (state >>> 0) / 2 ** 32)
  const syllables = ["ka", "lo", "mi", "re", "tu", "zan", "pho", "qi", "bel", "dor", "ex", "wy"]
  const word = () => Array.from({ length: 2 + Math.floor(next() * 3) }, () => syllables[Math.floor(next() * syllables.length)]).join("")
  return Array.from({ length: n * 8 }, (_, i) => (i === 3 ? "Sentence3" : word())).join(" ")
}
const promptA = text("gardening", 12)
const chosenA = text("tomatoes", 10)
const rejectedA = text("weeds", 10)
const promptB = text("astronomy", 12)
const [b1, b2] = [text("planets", 10), text("comets", 10)]

const table: PreferencePair[] = [
  pair(promptA, chosenA, rejectedA), // 0 kept
  pair(`  ${promptA.toUpperCase()} `, chosenA.replace(/ /g, "\n  "), rejectedA.toLowerCase()), // 1 exact duplicate of 0
  pair(promptA, chosenA.replace("Sentence3", "Sentence three"), rejectedA), // 2 near-duplicate of 0
  pair(promptA, chosenA, text("fertiliser", 10)), // 3 kept: same prompt and winner, another loser
  pair("What is 2+2?", "Four.", "  four. "), // 4 tie
  pair("", "a", "b"), // 5 short prompt (empty)
  pair("Rank the colours.", "red", "green"), // 6 cycle
  pair("Rank the colours.", "green", "blue"), // 7 cycle
  pair("Rank the colours.", "Blue", "red"), // 8 cycle (normalised "blue")
  pair("Rank the colours.", "red", "grey"), // 9 kept: leaves the cycle
  pair("Is it raining?", "yes", "no"), // 10 contradiction
  pair("Is it raining?", "no", "yes"), // 11 contradiction
  pair(promptB, b1, b2), // 12 reversed twin of 13: a contradiction, not a near-duplicate
  pair(promptB, b2, b1), // 13
  pair([{ role: "system", content: "Be terse." }, { role: "user", content: "Capital of France?" }], "Paris.", "London."), // 14 kept
  pair(promptB, b1, "No."), // 15 kept
  pair(promptB, b1, "Nope, never!") // 16 kept: the same text but for a short loser is another judgement
]

describe("dedupe", () => {
  it("drops each kind of bad pair for its reason and keeps the clean ones", () => {
    const { kept, dropped, counts } = dedupe(table)
    expect(kept).toEqual([table[0], table[3], table[9], table[14], table[15], table[16]])
    expect(dropped.map((d) => [d.index, d.reason, d.duplicateOf])).toEqual([
      [1, "exact-duplicate", 0], [2, "near-duplicate", 0], [4, "tie", undefined], [5, "short-prompt", undefined],
      [6, "cycle", undefined], [7, "cycle", undefined], [8, "cycle", undefined],
      [10, "cycle", undefined], [11, "cycle", undefined], [12, "cycle", undefined], [13, "cycle", undefined]
    ])
    expect(counts).toEqual({ "exact-duplicate": 1, "near-duplicate": 1, tie: 1, cycle: 7, "short-prompt": 1 })
    const { reason: _r, index: _i, duplicateOf: _d, ...rest } = dropped[1]!
    expect(rest).toEqual(table[2]) // dropped rows keep the pair's own fields
  })

  it("calls the near-duplicate similar in every part and its neighbour not", () => {
    const parts = (p: PreferencePair) => [promptKey(p.prompt), p.chosen, p.rejected].map((t, f) => shingleHashes(normalizeText(t), 5, "char", f))
    const [a, near, other] = [parts(table[0]!), parts(table[2]!), parts(table[3]!)]
    expect(Math.min(...a.map((s, f) => jaccard(s, near[f]!)))).toBeGreaterThan(0.9)
    expect(jaccard(a[2]!, other[2]!)).toBeLessThan(0.5)
    // Pairs 15 and 16 look alike as whole texts, but their losers share nothing.
    const [p15, p16] = [parts(table[15]!), parts(table[16]!)]
    const whole = (ps: Uint32Array[]) => Uint32Array.from(new Set(ps.flatMap((x) => [...x]))).sort()
    expect(jaccard(whole(p15), whole(p16))).toBeGreaterThan(0.9)
    expect(jaccard(p15[2]!, p16[2]!)).toBe(0)
  })

  it("follows its options", () => {
    expect(dedupe(table, { nearDuplicateThreshold: 1.1 }).kept).toContain(table[2])
    const strict = dedupe([pair("hi", "a", "b"), pair("hello there", "a", "b")], { minPromptChars: 5 })
    expect(strict.dropped.map((d) => d.reason)).toEqual(["short-prompt"])
    const words = dedupe(table, { shingleUnit: "word", shingleSize: 3, numPerm: 64, seed: 9 })
    expect(words.dropped.find((d) => d.index === 2)?.reason).toBe("near-duplicate")
  })

  it("is deterministic", () => {
    expect(dedupe(table, { seed: 5 })).toEqual(dedupe(table, { seed: 5 }))
    expect(dedupe([...table]).kept).toEqual(dedupe(table).kept)
  })

  it("leaves no duplicate, tie or cycle among kept pairs of random tables", () => {
    const word = fc.constantFrom("a", "b", "c", "A", " b ")
    const row = fc.tuple(fc.constantFrom("p1", "p2", "P1 "), word, word).map(([p, c, r]) => pair(p, c, r))
    fc.assert(fc.property(fc.array(row, { maxLength: 25 }), (pairs) => {
      const { kept, dropped } = dedupe(pairs, { nearDuplicateThreshold: 1.1 })
      expect(kept.length + dropped.length).toBe(pairs.length)
      expect(new Set(kept.map(pairKey)).size).toBe(kept.length)
      expect(kept.some((p) => normalizeText(p.chosen) === normalizeText(p.rejected))).toBe(false)
      for (const d of dropped) if (d.duplicateOf !== undefined) expect(d.duplicateOf).toBeLessThan(d.index)
      const edges = kept.map((p) => ({ winner: `${promptKey(p.prompt)}|${normalizeText(p.chosen)}`, loser: `${promptKey(p.prompt)}|${normalizeText(p.rejected)}` }))
      expect(edgesInCycles(edges).some(Boolean)).toBe(false)
    }))
  })

  it("finds the repeated records of the real dpo-zh-demo file", () => {
    const { pairs } = readPreferences(preferenceFile("dpo-zh-demo.json"))
    const { kept, dropped, counts } = dedupe(pairs)
    // The raw file repeats 11 records verbatim (counted in the test of the readers' input).
    expect(counts["exact-duplicate"]).toBe(11)
    for (const d of dropped) expect(pairKey(d)).toBe(pairKey(pairs[d.duplicateOf!]!))
    expect(kept.length).toBe(289)
  })
})
