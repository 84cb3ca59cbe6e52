import { describe, expect, it } from "vitest"
import { corpus, evalPrompts, preferencePairs, rlPrompts, sftData } from "../../src/task/Generators.ts"
import { evalPromptPool, isEvalRequest, parsePrompt, trainPromptPool } from "../../src/task/Requests.ts"
import { judge } from "../../src/task/Rule.ts"

const isEvalPrompt = (prompt: string) => isEvalRequest(parsePrompt(prompt)!)
const longerChosenShare = (pairs: ReadonlyArray<{ chosen: string; rejected: string }>) => {
  const unequal = pairs.filter((p) => p.chosen.length !== p.rejected.length)
  return unequal.filter((p) => p.chosen.length > p.rejected.length).length / unequal.length
}

describe("default task generators", () => {
  it("are deterministic by seed and differ across seeds", () => {
    expect(sftData(50, 3)).toEqual(sftData(50, 3))
    expect(preferencePairs(50, 3)).toEqual(preferencePairs(50, 3))
    expect(rlPrompts(50, 3)).toEqual(rlPrompts(50, 3))
    expect(evalPrompts(20, 3)).toEqual(evalPrompts(20, 3))
    expect(corpus(2000, 3)).toBe(corpus(2000, 3))
    expect(sftData(50, 3)).not.toEqual(sftData(50, 4))
    expect(preferencePairs(50, 3)).not.toEqual(preferencePairs(50, 4))
    expect(rlPrompts(50, 3)).not.toEqual(rlPrompts(50, 4))
    expect(corpus(2000, 3)).not.toBe(corpus(2000, 4))
  })

  it("keep evaluation requests out of every training generator", () => {
    expect(evalPromptPool.length).toBeGreaterThanOrEqual(30)
    expect(trainPromptPool.length).toBeGreaterThanOrEqual(150)
    expect(trainPromptPool.filter(isEvalPrompt)).toEqual([])
    const evalSet = evalPrompts(200, 1)
    expect(evalSet.every(isEvalPrompt)).toBe(true)
    expect(new Set(evalSet).size).toBe(evalPromptPool.length) // cycles through the whole pool
    // Every request kind is evaluated.
    expect(new Set(evalSet.map((p) => parsePrompt(p)!._tag))).toEqual(new Set(["List", "Count", "Greet", "Repeat"]))
    const trainPrompts = [...sftData(500, 1).map((d) => d.prompt), ...preferencePairs(500, 1).map((p) => p.prompt), ...rlPrompts(500, 1)]
    expect(trainPrompts.filter(isEvalPrompt)).toEqual([])
    // Corpus lines that are requests (alone or "prompt: answer") are training requests only.
    const corpusPrompts = corpus(20_000, 1).split("\n").map((line) => line.split(":")[0]!).filter((p) => parsePrompt(p) !== undefined)
    expect(corpusPrompts.length).toBeGreaterThan(100)
    expect(corpusPrompts.filter(isEvalPrompt)).toEqual([])
  })

  it("produce short texts and an exact-length corpus", () => {
    const demos = sftData(3000, 2)
    expect(Math.max(...[...trainPromptPool, ...evalPromptPool].map((p) => p.length))).toBeLessThanOrEqual(40)
    expect(Math.max(...demos.map((d) => d.response.length))).toBeLessThanOrEqual(48)
    expect(corpus(12_345, 2).length).toBe(12_345)
  })

  it("give SFT demonstrations that are only partly good", () => {
    const scores = sftData(3000, 5).map((d) => judge(d.prompt, d.response))
    const goldShare = scores.filter((s) => s === 1).length / scores.length
    const mean = scores.reduce((a, s) => a + s, 0) / scores.length
    // Measured: gold share ≈ 0.50, mean score ≈ 0.74 (gold is 1): room for RLHF to improve.
    expect(goldShare).toBeGreaterThan(0.4)
    expect(goldShare).toBeLessThan(0.6)
    expect(mean).toBeGreaterThan(0.6)
    expect(mean).toBeLessThan(0.85)
  })

  it("label pairs by the rule, with a length bias that favours the longer response", () => {
    const unbiased = preferencePairs(4000, 11, { lengthBias: 0 })
    const biased = preferencePairs(4000, 11) // default lengthBias 0.5
    // Measured on these seeds: longer chosen in 0.46 of unequal-length pairs without the bias
    // (the rule itself is about length-neutral), 0.75 with it.
    const unbiasedShare = longerChosenShare(unbiased), biasedShare = longerChosenShare(biased)
    expect(unbiasedShare).toBeGreaterThan(0.4)
    expect(unbiasedShare).toBeLessThan(0.56)
    expect(biasedShare).toBeGreaterThan(0.68)
    expect(biasedShare - unbiasedShare).toBeGreaterThan(0.18)
    // Without the bias, labels agree with the rule on ≈ 96% of non-tied pairs.
    const agreement = (pairs: typeof unbiased) => {
      const decided = pairs.filter((p) => judge(p.prompt, p.chosen) !== judge(p.prompt, p.rejected))
      return decided.filter((p) => judge(p.prompt, p.chosen) > judge(p.prompt, p.rejected)).length / decided.length
    }
    expect(agreement(unbiased)).toBeGreaterThan(0.93)
    expect(agreement(biased)).toBeLessThan(agreement(unbiased) - 0.1)
    expect(unbiased.every((p) => p.chosen !== p.rejected)).toBe(true)
  })
})
