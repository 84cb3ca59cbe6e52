import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { conversationKey, promptKey, readPreferences, splitByPrompt } from "../../src/preferences/index.ts"
import type { PreferencePair } from "../../src/preferences/index.ts"
import { preferenceFile } from "./SharedData.ts"

const pair = (prompt: string, chosen = "a", rejected = "b"): PreferencePair => ({
  prompt: [{ role: "user", content: prompt }], chosen, rejected, source: "t", annotator: null, category: null
})
const sides = (r: { train: PreferencePair[]; validation: PreferencePair[] }) =>
  new Map([...r.train.map((p) => [p, "train"] as const), ...r.validation.map((p) => [p, "validation"] as const)])

describe("splitByPrompt", () => {
  it("keeps the requested fraction of prompts, up to sampling error", () => {
    const pairs = Array.from({ length: 4000 }, (_, i) => pair(`question number ${i}`))
    for (const fraction of [0.05, 0.2, 0.5]) {
      const share = splitByPrompt(pairs, { validationFraction: fraction, seed: 3 }).validation.length / pairs.length
      // Binomial standard error ≤ 0.008 at n = 4000; allow four.
      expect(Math.abs(share - fraction)).toBeLessThan(0.032)
    }
    expect(splitByPrompt(pairs, { validationFraction: 0 }).validation).toEqual([])
    expect(splitByPrompt(pairs, { validationFraction: 1 }).train).toEqual([])
    expect(() => splitByPrompt(pairs, { validationFraction: 1.5 })).toThrow(/\[0, 1\]/)
  })

  it("groups by normalised prompt: no prompt on both sides (property)", () => {
    const prompts = fc.constantFrom("Hi there", "hi  there", "HI THERE ", "What now?", "what now?", "Tell me more", "x")
    fc.assert(fc.property(fc.array(fc.tuple(prompts, fc.string()), { maxLength: 60 }), fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }), (rows, seed, fraction) => {
      const { train, validation } = splitByPrompt(rows.map(([p, c]) => pair(p, c)), { validationFraction: fraction, seed })
      const trainKeys = new Set(train.map((p) => promptKey(p.prompt)))
      expect(validation.some((p) => trainKeys.has(promptKey(p.prompt)))).toBe(false)
      expect(train.length + validation.length).toBe(rows.length)
    }))
  })

  it("never moves a pair when others are added (property)", () => {
    const rows = fc.array(fc.string({ maxLength: 6 }).map((s) => pair(s)), { maxLength: 40 })
    fc.assert(fc.property(rows, rows, (before, added) => {
      const options = { validationFraction: 0.3, seed: 11 }
      const first = sides(splitByPrompt(before, options))
      const second = sides(splitByPrompt([...added.slice(0, 3), ...before, ...added], options))
      for (const p of before) expect(second.get(p)).toBe(first.get(p))
    }))
  })

  it("depends on the seed and keeps input order within each side", () => {
    const pairs = Array.from({ length: 200 }, (_, i) => pair(`q${i}`))
    const a = splitByPrompt(pairs, { validationFraction: 0.5, seed: 1 })
    expect(splitByPrompt(pairs, { validationFraction: 0.5, seed: 1 })).toEqual(a)
    expect(splitByPrompt(pairs, { validationFraction: 0.5, seed: 2 }).validation).not.toEqual(a.validation)
    const order = (ps: PreferencePair[]) => ps.map((p) => pairs.indexOf(p))
    expect(order(a.train)).toEqual([...order(a.train)].sort((x, y) => x - y))
  })

  it("can keep whole Open-Assistant conversations together", () => {
    const { pairs } = readPreferences(preferenceFile("oasst-en-trees.jsonl"))
    const { train, validation } = splitByPrompt(pairs, { validationFraction: 0.3, seed: 0, groupBy: conversationKey })
    const trainRoots = new Set(train.map((p) => p.prompt[0]!.content))
    expect(validation.length).toBeGreaterThan(0)
    expect(validation.some((p) => trainRoots.has(p.prompt[0]!.content))).toBe(false)
    // By full prompt instead, some conversation does straddle the split: that is why the option exists.
    const byPrompt = splitByPrompt(pairs, { validationFraction: 0.3, seed: 0 })
    const roots = new Set(byPrompt.train.map((p) => p.prompt[0]!.content))
    expect(byPrompt.validation.some((p) => roots.has(p.prompt[0]!.content))).toBe(true)
  })
})
