/**
 * PPO on a toy problem where the reward is easy: a small SFT policy answers with strings over
 * a–d, and the reward model rewards the share of "a" tokens. Over a few ppo-iterations the mean
 * reward must rise while the KL to the SFT model stays bounded; a strong KL penalty must hold
 * the KL lower than none, and the adaptive controller must raise β while the KL is above target.
 */
import { Table } from "@rlhf/core"
import { describe, expect, it } from "vitest"
import { PpoInit } from "../../src/policy/PpoInit.ts"
import { PpoIteration } from "../../src/policy/PpoIteration.ts"
import { ReferenceBaseline } from "../../src/policy/ReferenceBaseline.ts"
import type { MetricRow } from "../../src/schemas/MetricRow.ts"
import { letterRewardModel, promptTable, run, sftTable, tokenizerTable, toyPrompts, toySft, toySftWeights } from "./Fixtures.ts"

const tokenizer = tokenizerTable()
const prompts = promptTable(toyPrompts)
const sft = toySftWeights(30)
const rm = letterRewardModel()
const sftRows = sftTable(toySft(16, 3))
const { baseline } = await run(ReferenceBaseline, { prompts, tokenizer, sft, rm }, { maxNewTokens: 8 })
const params = { batchSize: 8, maxNewTokens: 8, epochs: 2, minibatchSize: 4, lr: 3e-3, criticLr: 3e-3, forwardBatchSize: 8 }

/** Runs `n` iterations from ppo-init with these KL settings; returns per-iteration metrics and the final state. */
const train = async (n: number, kl: Record<string, unknown>, klEstimator = "k1") => {
  const init = await run(PpoInit, { init: rm }, kl)
  let s = { policy: sft, critic: init.critic, policyOptimizer: init.policyOptimizer, criticOptimizer: init.criticOptimizer, state: init.state }
  const metrics: Array<Record<string, number>> = []
  for (let i = 1; i <= n; i++) {
    const out = await run(PpoIteration, { prompts, tokenizer, ref: sft, rm, baseline, sft: sftRows, ...s }, { ...params, klEstimator, iteration: i })
    metrics.push(Object.fromEntries(Table.toRows(out.metrics as Table.Table<typeof MetricRow>).map((r) => [r.name, r.value])))
    s = out
  }
  return { metrics, state: Table.toRows(s.state)[0]! }
}

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

describe("PPO on a toy reward", () => {
  it("raises the mean reward over iterations while the KL stays bounded", async () => {
    const { metrics } = await train(6, { klCoef: 0.05 })
    const reward = metrics.map((m) => m["raw_reward_mean"]!)
    // The SFT policy writes ~25% a's; the reward is 0 for none and ~0.6 for all-a answers of 4.
    expect(mean(reward.slice(-2))).toBeGreaterThan(reward[0]! + 0.1)
    for (const m of metrics) {
      expect(m["kl"]!).toBeLessThan(5) // nats per response (≤ 8 tokens)
      expect(Number.isFinite(m["policy_loss"]!) && Number.isFinite(m["value_loss"]!)).toBe(true)
    }
    expect(metrics[0]!["kl"]).toBe(0) // the first rollout samples from the reference itself
  })

  it("a KL penalty holds the policy nearer the reference; the adaptive controller raises β while the KL exceeds its target", async () => {
    // k3 (never negative) so a small batch's KL estimate cannot dip below the target by noise.
    const free = await train(5, { klCoef: 0 }, "k3")
    const strong = await train(5, { klCoef: 3 }, "k3")
    const late = (r: typeof free) => mean(r.metrics.slice(-2).map((m) => m["kl"]!))
    expect(late(free)).toBeGreaterThan(0.3)
    expect(late(strong)).toBeLessThan(0.85 * late(free))
    const adaptive = await train(5, { klCoef: 0.5, adaptiveKl: true, klTarget: 0.02, klHorizon: 4 }, "k3")
    for (const m of adaptive.metrics) {
      const expected = m["kl_beta"]! * (1 + (Math.max(-0.2, Math.min(0.2, m["kl"]! / 0.02 - 1)) * 8) / 4)
      expect(m["kl_beta_next"]!).toBeCloseTo(expected, 10)
    }
    expect(adaptive.state.beta).toBeGreaterThan(1) // started at 0.5; dipped once (KL 0 at first), then rose
  })
})
