import { Table } from "@rlhf/core"
import { byteLevel } from "@rlhf/nn/Tokenizer"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { TokenizerInputError } from "../../src/data/DataErrors.ts"
import { bucketLabel, LengthBalance } from "../../src/data/LengthBalance.ts"
import { pairsOf, preferenceTable } from "../../src/schemas/PreferenceRow.ts"
import { TokenizerRow } from "../../src/schemas/TokenizerRow.ts"
import { aaTokenizer, metricsOf, pair, pairsTable, tokenizerTable } from "./Fixtures.ts"
import { runStage, stageError } from "./RunStage.ts"


// Longer wins in 6 pairs, loses in 2, ties in 1 (byte lengths): heavily length-biased.
const biased = [
  pair("p1", "aaaa", "a"), pair("p2", "aaaaa", "aa"), pair("p3", "aaaaaaa", "aaaa"), pair("p4", "aaa", "a"),
  pair("p5", "aaaaaaaaaaaaaaaaaaaa", "a"), pair("p6", "aaaaaaaaaaaaaaaaaaaaaa", "aaa"),
  pair("p7", "a", "aaaa"), pair("p8", "a", "aaaaaaaaaaaaaaaaaaaaaaa"),
  pair("p9", "abc", "cba")
]

describe("length-balance stage", () => {
  it("balances every bucket and reports before/after and per-bucket counts", async () => {
    const out = await runStage(LengthBalance, { pairs: pairsTable(biased), tokenizer: tokenizerTable() }, { bucketEdges: [0, 10] })
    const kept = pairsOf(out.pairs)
    // Bucket [0,10): 4 wins (p1–p4), 1 loss (p7) → 1 + 1 kept, plus the tie p9; [10,inf): 2 wins, 1 loss → 1 + 1.
    expect(kept).toHaveLength(5)
    expect(kept.filter((p) => ["p7", "p8", "p9"].includes(p.prompt[0]!.content))).toHaveLength(3)
    const m = metricsOf(out.metrics)
    expect(m).toMatchObject({
      enabled: 1,
      "pairs/before": 9, "pairs/after": 5,
      "longerWinsShare/before": 6 / 8, "longerWinsShare/after": 0.5,
      "bucket.longerWins/[0,10)": 4, "bucket.longerLoses/[0,10)": 1, "bucket.equalLength/[0,10)": 1, "bucket.kept/[0,10)": 3,
      "bucket.longerWins/[10,inf)": 2, "bucket.longerLoses/[10,inf)": 1, "bucket.equalLength/[10,inf)": 0, "bucket.kept/[10,inf)": 2
    })
    // mean(d) / sqrt(mean(d²)) over d = 3, 3, 3, 2, 19, 19, −3, −22, 0 (bytes).
    expect(m["lengthPreferenceCorrelation/before"]).toBeCloseTo(24 / Math.sqrt(9 * 1246), 12)
    expect(Math.abs(m["lengthPreferenceCorrelation/after"]!)).toBeLessThan(m["lengthPreferenceCorrelation/before"]!)
  })

  it("measures length in tokens of the tokenizer input, not characters", async () => {
    // "aaaa" is 2 tokens under the "aa" merge, "bbb" is 3: by characters the chosen is longer, by tokens shorter.
    const pairs = [pair("q1", "aaaa", "bbb"), pair("q2", "bbbbbb", "aa")]
    const chars = metricsOf((await runStage(LengthBalance, { pairs: pairsTable(pairs), tokenizer: tokenizerTable() }, { bucketEdges: [0] })).metrics)
    const tokens = metricsOf((await runStage(LengthBalance, { pairs: pairsTable(pairs), tokenizer: tokenizerTable(aaTokenizer()) }, { bucketEdges: [0] })).metrics)
    expect([chars["bucket.longerWins/[0,inf)"], chars["bucket.longerLoses/[0,inf)"]]).toEqual([2, 0])
    expect([tokens["bucket.longerWins/[0,inf)"], tokens["bucket.longerLoses/[0,inf)"]]).toEqual([1, 1])
  })

  it("enabled: false passes the pairs through unchanged and still reports their length bias", async () => {
    const input = pairsTable(biased)
    const out = await runStage(LengthBalance, { pairs: input, tokenizer: tokenizerTable() }, { enabled: false })
    expect(Table.toRows(out.pairs)).toEqual(Table.toRows(input))
    expect(metricsOf(out.metrics)).toMatchObject({ enabled: 0, "pairs/before": 9, "pairs/after": 9, "longerWinsShare/before": 0.75, "longerWinsShare/after": 0.75 })
  })

  it("fails clearly when the tokenizer input is not a tokenizer table", async () => {
    const bare = Table.make(TokenizerRow, [{ id: 0, kind: "special", bytes: new Uint8Array([1]), left: -1, right: -1 }])
    const error = await stageError(LengthBalance, { pairs: pairsTable(biased), tokenizer: bare })
    expect(error).toBeInstanceOf(TokenizerInputError)
    expect((error as Error).message).toMatch(/input 'tokenizer' of node 'node' is not a tokenizer table: .*rlhf-bpe-v1/)
  })

  it("property: after balancing, longer-wins equals longer-loses in every bucket; equal-length pairs all stay", async () => {
    const tok = byteLevel()
    const tokenizer = tokenizerTable(tok)
    const text = fc.string({ unit: fc.constantFrom("a", "b", " ", "é", "字"), maxLength: 40 })
    const edges = fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 5 }).map((e) => e.sort((a, b) => a - b))
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.string({ maxLength: 6 }), text, text), { maxLength: 60 }), edges, fc.integer(), async (raw, bucketEdges, seed) => {
      const input = raw.map(([p, c, r]) => pair(p, c, r))
      const out = await runStage(LengthBalance, { pairs: preferenceTable(input), tokenizer }, { bucketEdges, seed: seed | 0 })
      const kept = pairsOf(out.pairs)
      const len = (s: string) => tok.encode(s, { allowSpecial: false }).length
      const lower = bucketEdges[0] === 0 ? bucketEdges : [0, ...bucketEdges]
      const bucket = (d: number) => lower.filter((e) => e <= Math.abs(d)).length - 1
      const tally = (pairs: typeof input) => {
        const t = lower.map(() => ({ wins: 0, loses: 0, equal: 0 }))
        for (const p of pairs) {
          const d = len(p.chosen) - len(p.rejected)
          const b = t[bucket(d)]!
          if (d > 0) b.wins++
          else if (d < 0) b.loses++
          else b.equal++
        }
        return t
      }
      const before = tally(input)
      const after = tally(kept)
      after.forEach((b, i) => {
        expect(b.wins).toBe(b.loses)
        expect(b.wins).toBe(Math.min(before[i]!.wins, before[i]!.loses))
        expect(b.equal).toBe(before[i]!.equal)
      })
      // Kept pairs are input pairs, in input order.
      let at = 0
      for (const k of kept) {
        while (at < input.length && JSON.stringify(input[at]) !== JSON.stringify(k)) at++
        expect(at).toBeLessThan(input.length)
        at++
      }
      const m = metricsOf(out.metrics)
      lower.forEach((lo, i) => expect(m[`bucket.kept/${bucketLabel(lo, lower[i + 1] ?? Infinity)}`]).toBe(2 * after[i]!.wins + after[i]!.equal))
    }), { numRuns: 60 })
  })
})
