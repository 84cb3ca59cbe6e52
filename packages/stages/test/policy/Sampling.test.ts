/**
 * The sampling stages around PPO and DPO: prompt-filter (drops prompts whose K samples' rewards
 * hardly vary) and rm-label-pairs (two SFT samples per prompt, ordered by the reward model).
 */
import { Table } from "@rlhf/core"
import * as ChatTemplate from "@rlhf/nn/ChatTemplate"
import * as Tokenizer from "@rlhf/nn/Tokenizer"
import * as Weights from "@rlhf/nn/Weights"
import { describe, expect, it } from "vitest"
import * as Models from "../../src/policy/Models.ts"
import { PolicyError } from "../../src/policy/PolicyError.ts"
import { PromptFilter, quantileOf, variance } from "../../src/policy/PromptFilter.ts"
import { RmLabelPairs } from "../../src/policy/RmLabelPairs.ts"
import type { MetricRow } from "../../src/schemas/MetricRow.ts"
import { bytes, letterRewardModel, promptTable, run, runError, tokenizerTable, toyPrompts, toySftWeights } from "./Fixtures.ts"

const tokenizer = tokenizerTable()
const prompts = promptTable([...toyPrompts, "go on", "print more", "write it", "type more"])
const policy = toySftWeights(20)
const rm = letterRewardModel()
const sampling = { maxNewTokens: 10, forwardBatchSize: 16 }

const metricOf = (t: Table.Table<typeof MetricRow>, name: string, group: string | null = null) =>
  Table.toRows(t).find((r) => r.name === name && r.group === group)!.value

describe("variance and quantiles", () => {
  it("population variance and interpolated quantiles", () => {
    expect(variance([1, 1, 1])).toBe(0)
    expect(variance([0, 2])).toBe(1)
    expect(quantileOf([4, 1, 3, 2], 0)).toBe(1)
    expect(quantileOf([4, 1, 3, 2], 1)).toBe(4)
    expect(quantileOf([4, 1, 3, 2], 0.5)).toBe(2.5)
  })
})

describe("prompt-filter", () => {
  it("drops the prompts below the variance quantile and keeps the rest, in order", async () => {
    const out = await run(PromptFilter, { prompts, tokenizer, policy, rm }, { ...sampling, k: 4, quantile: 0.5 })
    const kept = Table.toRows(out.kept), dropped = Table.toRows(out.dropped)
    expect(kept.length + dropped.length).toBe(prompts.numRows)
    expect(dropped.length).toBeGreaterThanOrEqual(1)
    expect(kept.length).toBeGreaterThanOrEqual(prompts.numRows / 2) // ties at the cut are kept
    const cut = metricOf(out.metrics, "variance_cut")
    for (const d of dropped) expect(d.variance).toBeLessThan(cut)
    expect(metricOf(out.metrics, "variance_mean", "kept")).toBeGreaterThanOrEqual(cut)
    const all = Table.toRows(prompts).map((r) => r.prompt[0]!.content)
    const keptTexts = kept.map((r) => r.prompt[0]!.content)
    expect(keptTexts).toEqual(all.filter((t) => keptTexts.includes(t))) // input order
    expect(metricOf(out.metrics, "kept")).toBe(kept.length)
    const again = await run(PromptFilter, { prompts, tokenizer, policy, rm }, { ...sampling, k: 4, quantile: 0.5 })
    expect(bytes(again.dropped)).toEqual(bytes(out.dropped))
  })

  it("a threshold is a fixed cut; greedy samples have zero variance", async () => {
    const greedy = await run(PromptFilter, { prompts, tokenizer, policy, rm }, { ...sampling, k: 3, temperature: 0, threshold: 1e-9 })
    expect(greedy.kept.numRows).toBe(0)
    expect(Table.toRows(greedy.dropped).every((d) => d.variance === 0)).toBe(true)
    const none = await run(PromptFilter, { prompts, tokenizer, policy, rm }, { ...sampling, k: 3, threshold: 0 })
    expect(none.kept.numRows).toBe(prompts.numRows)
    const error = await runError(PromptFilter, { prompts, tokenizer, policy, rm }, { threshold: 0.1, quantile: 0.2 })
    expect(error).toBeInstanceOf(PolicyError)
    expect((error as PolicyError).message).toMatch(/both threshold .* and quantile/)
  })
})

describe("rm-label-pairs", () => {
  it("orders two SFT samples per prompt by reward", async () => {
    // topK 5: the half-trained toy model's a–d and <|endoftext|>, so most texts are plain ASCII.
    const out = await run(RmLabelPairs, { prompts, tokenizer, sft: policy, rm }, { ...sampling, maxNewTokens: 12, topK: 5 })
    const pairs = Table.toRows(out.pairs)
    expect(pairs.length).toBeGreaterThan(prompts.numRows / 2)
    expect(metricOf(out.metrics, "pairs") + metricOf(out.metrics, "dropped", "identical") + metricOf(out.metrics, "dropped", "margin")).toBe(prompts.numRows)
    // Re-score the texts: byte-level text round-trips exactly when it is ASCII and the answer finished.
    const tok = Tokenizer.byteLevel()
    const model = Weights.loadWeights(rm.arrow)
    let checked = 0
    for (const p of pairs) {
      expect(p).toMatchObject({ source: "rm-label", annotator: "rm", category: null })
      expect(p.chosen).not.toBe(p.rejected)
      if (!/^[\x20-\x7e]*$/.test(p.chosen + p.rejected)) continue
      const prompt = ChatTemplate.formatPrompt(tok, [{ role: "user", content: p.prompt[0]!.content }]).ids
      const [c, r] = Models.rewards(model, [prompt, prompt], [p.chosen, p.rejected].map((t) => ChatTemplate.formatResponse(tok, t).ids), 2)
      expect(c!).toBeGreaterThanOrEqual(r!)
      checked++
    }
    expect(checked).toBeGreaterThanOrEqual(pairs.length / 2)
    Models.disposeModels(model)
    const strict = await run(RmLabelPairs, { prompts, tokenizer, sft: policy, rm }, { ...sampling, maxNewTokens: 12, minMargin: 10 })
    expect(strict.pairs.numRows).toBe(0)
  })
})
