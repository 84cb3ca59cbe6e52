import { describe, expect, it } from "vitest"
import { passOrder, roundBatch } from "../../src/policy/PromptBatches.ts"
import { mixSeed, roundSeeds } from "../../src/policy/Seeds.ts"

describe("prompt batches", () => {
  it("every pass is a permutation and rounds walk through passes in order", () => {
    const n = 7, bs = 3
    const stream = Array.from({ length: 7 }, (_, r) => roundBatch(n, bs, r, 42)).flat() // 21 = 3 passes
    for (let pass = 0; pass < 3; pass++) {
      const slice = stream.slice(pass * n, (pass + 1) * n)
      expect([...slice].sort()).toEqual([0, 1, 2, 3, 4, 5, 6])
      expect(slice).toEqual(passOrder(n, 42, pass))
    }
    expect(passOrder(n, 42, 0)).not.toEqual(passOrder(n, 42, 1)) // passes are reshuffled
  })

  it("depends only on (n, batchSize, round, seed)", () => {
    expect(roundBatch(10, 4, 5, 1)).toEqual(roundBatch(10, 4, 5, 1))
    expect(roundBatch(10, 4, 5, 1)).not.toEqual(roundBatch(10, 4, 5, 2))
    expect(roundBatch(3, 8, 0, 9)).toHaveLength(8) // a batch larger than the table spans passes
    expect(() => roundBatch(0, 4, 0, 1)).toThrow(/empty/)
  })
})

describe("seeds", () => {
  it("mixSeed is a deterministic uint32 that every part changes", () => {
    const base = mixSeed(1, 2, 3)
    expect(base).toBe(mixSeed(1, 2, 3))
    expect(Number.isInteger(base) && base >= 0 && base < 2 ** 32).toBe(true)
    const variants = [mixSeed(1, 2, 4), mixSeed(2, 2, 3), mixSeed(3, 2, 1), mixSeed(1, 2), mixSeed(1, 2, 3, 0), mixSeed(1 + 2 ** 32, 2, 3)]
    for (const v of variants) expect(v).not.toBe(base)
  })

  it("round seeds: the prompt stream is shared by all iterations, sampling and update seeds are not", () => {
    const a = roundSeeds(0, 5, 1, 0), b = roundSeeds(0, 5, 2, 0), c = roundSeeds(0, 5, 1, 1)
    expect(a.prompts).toBe(b.prompts)
    expect(new Set([a.generate, b.generate, c.generate, a.update, b.update, c.update]).size).toBe(6)
    expect(a.iteration).toBe(c.iteration)
    expect(roundSeeds(1, 5, 1, 0).generate).not.toBe(a.generate) // the run's seed matters
  })
})
