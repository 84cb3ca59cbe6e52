import { byteLevel } from "@rlhf/nn/Tokenizer"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { codecOf } from "../../src/data/TokenizerInput.ts"
import { Truncate } from "../../src/data/Truncate.ts"
import type { PreferencePair } from "../../src/preferences/PreferencePair.ts"
import { truncatePairs } from "../../src/preferences/Truncate.ts"
import { pairsOf } from "../../src/schemas/PreferenceRow.ts"
import { aaTokenizer, metricsOf, pair, pairsTable, tokenizerTable } from "./Fixtures.ts"
import { runStage } from "./RunStage.ts"

/** The pure truncation under a byte-level tokenizer, for the property below (the stage wraps exactly this). */
const truncateBytes = (pairs: PreferencePair[], maxPromptTokens: number, maxResponseTokens: number) =>
  truncatePairs(pairs, { ...codecOf(byteLevel()), maxPromptTokens, maxResponseTokens }).pairs


describe("truncate stage", () => {
  it("cuts prompts from the left and responses from the right, dropping pairs made identical", async () => {
    const long: PreferencePair = {
      ...pair("", "0123456789", "0123456789abc"),
      prompt: [{ role: "system", content: "sys" }, { role: "user", content: "first question" }, { role: "assistant", content: "answer" }, { role: "user", content: "again?" }]
    }
    const input = [pair("hi", "short", "brief"), long, pair("x", "abcdefgh-1", "abcdefgh-2")]
    const out = await runStage(Truncate, { pairs: pairsTable(input), tokenizer: tokenizerTable() }, { maxPromptTokens: 10, maxResponseTokens: 8 })
    expect(pairsOf(out.pairs)).toEqual([
      input[0],
      // 10 bytes of content: "again?" (6) whole, then the last 4 of "answer".
      { ...long, prompt: [{ role: "assistant", content: "swer" }, { role: "user", content: "again?" }], chosen: "01234567", rejected: "01234567" }
    ].filter((p) => p.chosen !== p.rejected))
    expect(metricsOf(out.metrics)).toEqual({ "pairs.input": 3, "pairs.kept": 1, promptTruncated: 0, responseTruncated: 0, droppedIdentical: 2 })
  })

  it("counts budgets in tokens of the tokenizer input", async () => {
    // Under the "aa" merge, "aaaaaaaa" is 4 tokens and fits a budget of 4; byte-level it does not.
    const input = [pair("p", "aaaaaaaa", "b")]
    const merged = await runStage(Truncate, { pairs: pairsTable(input), tokenizer: tokenizerTable(aaTokenizer()) }, { maxResponseTokens: 4 })
    expect(pairsOf(merged.pairs)[0]!.chosen).toBe("aaaaaaaa")
    const bytes = await runStage(Truncate, { pairs: pairsTable(input), tokenizer: tokenizerTable() }, { maxResponseTokens: 4 })
    expect(pairsOf(bytes.pairs)[0]!.chosen).toBe("aaaa")
    expect(metricsOf(bytes.metrics).responseTruncated).toBe(1)
  })

  it("never cuts inside a character: Chinese text under a byte-level tokenizer stays within budget, without U+FFFD", async () => {
    const out = await runStage(Truncate, { pairs: pairsTable([pair("请问你好吗", "你好世界", "再见世界")]), tokenizer: tokenizerTable() }, { maxPromptTokens: 4, maxResponseTokens: 4 })
    expect(pairsOf(out.pairs)).toEqual([pair("吗", "你", "再")])
    const tok = byteLevel()
    const len = (s: string) => tok.encode(s, { allowSpecial: false }).length
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom("a", "字", "é", "😀", " "), maxLength: 30 }), fc.string({ unit: fc.constantFrom("b", "字", "😀"), maxLength: 30 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }), (c, r, maxP, maxR) => {
      const p = pair(c + r, c, r)
      const kept = truncateBytes([p], maxP, maxR)
      for (const k of kept) {
        expect(len(k.chosen)).toBeLessThanOrEqual(maxR)
        expect(len(k.rejected)).toBeLessThanOrEqual(maxR)
        expect(k.prompt.reduce((n, t) => n + len(t.content), 0)).toBeLessThanOrEqual(maxP)
        expect(c.startsWith(k.chosen) && r.startsWith(k.rejected)).toBe(true)
        expect((c + r).endsWith(k.prompt.map((t) => t.content).join(""))).toBe(true)
      }
    }), { numRuns: 200 })
  })
})
