import { describe, expect, it } from "vitest"
import { evalPromptPool, parsePrompt, trainPromptPool } from "../../src/task/Requests.ts"
import { goldResponse, sampleResponse } from "../../src/task/Responses.ts"
import { Rng } from "../../src/task/Rng.ts"
import { editDistance, judge, score } from "../../src/task/Rule.ts"

describe("ground-truth rule", () => {
  it("scores hand-made responses as specified", () => {
    // 1 − 0.3·errors (floored at 0) − 0.3·fillers − 0.2·[no final period]
    expect(score("list 3 fruits", "fig, kiwi, plum.")).toBeCloseTo(1, 10)
    expect(score("list 3 fruits", "fig, fig, plum.")).toBeCloseTo(0.7, 10) // repeated item
    expect(score("list 3 fruits", "fig, kiwi.")).toBeCloseTo(0.7, 10) // one too few
    expect(score("list 3 fruits", "fig, kiwi, red.")).toBeCloseTo(0.7, 10) // wrong category
    expect(score("list 3 fruits", "fig, kiwi, plum, lime.")).toBeCloseTo(0.7, 10) // one too many
    expect(score("list 3 fruits", "um, fig, kiwi, plum.")).toBeCloseTo(0.7, 10) // filler
    expect(score("list 3 fruits", "fig, kiwi, plum")).toBeCloseTo(0.8, 10) // no period
    // "and so on": 2 wrong items + 2 extra → 4 errors → 0, minus the filler "so" → −0.3
    expect(score("please list 3 fruits", "fig, kiwi, plum and so on.")).toBeCloseTo(-0.3, 10)
    expect(score("count from 3 to 6", "3 4 5 6.")).toBeCloseTo(1, 10)
    expect(score("count from 3 to 6", "3 4 6.")).toBeCloseTo(0.7, 10) // one deletion
    expect(score("count to 4", "1 2 3 4.")).toBeCloseTo(1, 10)
    expect(score("greet ann politely", "hello ann, nice to meet you.")).toBeCloseTo(1, 10)
    expect(score("greet ann politely", "hello bob, nice to meet you.")).toBeCloseTo(0.7, 10)
    expect(score("say bye to tom", "bye tom, take care.")).toBeCloseTo(1, 10)
    expect(score("repeat la 3 times", "la la la.")).toBeCloseTo(1, 10)
    expect(score("repeat la 3 times", "la la.")).toBeCloseTo(0.7, 10)
    // Longer is not better: padding a short flawed answer makes it worse.
    expect(score("list 3 fruits", "well, fig, um, kiwi, plum.")).toBeLessThan(score("list 3 fruits", "fig, kiwi."))
    expect(judge).toBe(score)
  })

  it("is total on arbitrary text and rejects foreign prompts", () => {
    for (const junk of ["", ".", "!!!", "ÄÖÜ 🙂", "fig ".repeat(50)]) expect(Number.isFinite(score("list 2 tools", junk))).toBe(true)
    expect(() => score("write a poem", "ok.")).toThrow(/not a prompt of the default task/)
  })

  it("ranks the gold response above every flawed one, for every prompt", () => {
    const rng = new Rng(7)
    let flawed = 0
    for (const prompt of [...trainPromptPool, ...evalPromptPool]) {
      const request = parsePrompt(prompt)!
      expect(score(prompt, goldResponse(request, rng))).toBeCloseTo(1, 10)
      for (let i = 0; i < 200; i++) {
        const { response, flaws } = sampleResponse(request, rng, 0)
        expect(flaws.length).toBeGreaterThan(0)
        expect(score(prompt, response), `${prompt} → ${response} (${flaws.join(", ")})`).toBeLessThan(1 - 1e-9)
        flawed++
      }
    }
    expect(flawed).toBe(200 * (trainPromptPool.length + evalPromptPool.length))
  })

  it("edit distance counts word insertions, deletions and substitutions", () => {
    expect(editDistance(["1", "2", "3"], ["1", "2", "3"])).toBe(0)
    expect(editDistance(["1", "3"], ["1", "2", "3"])).toBe(1)
    expect(editDistance(["1", "9", "3", "4"], ["1", "2", "3"])).toBe(2)
    expect(editDistance([], ["a", "b"])).toBe(2)
  })
})
