/**
 * ppo-init, rollout, ppo-update and ppo-iteration on tiny tables: what they record, that they
 * agree with each other, determinism (same seed → byte-identical outputs) and resume (iterations
 * 1..3 in one go = 1..2, then 3 from the stored tables).
 */
import { Table } from "@rlhf/core"
import * as AdamW from "@rlhf/nn/AdamW"
import * as Weights from "@rlhf/nn/Weights"
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import * as Models from "../../src/policy/Models.ts"
import { PolicyError } from "../../src/policy/PolicyError.ts"
import { PpoInit } from "../../src/policy/PpoInit.ts"
import { PpoIteration } from "../../src/policy/PpoIteration.ts"
import { PpoUpdate } from "../../src/policy/PpoUpdate.ts"
import { promptKey } from "../../src/policy/PromptKeys.ts"
import { ReferenceBaseline } from "../../src/policy/ReferenceBaseline.ts"
import { Rollout } from "../../src/policy/Rollout.ts"
import type { MetricRow } from "../../src/schemas/MetricRow.ts"
import { PolicyBaselineRow } from "../../src/schemas/PolicyBaselineRow.ts"
import {
  bytes,
  letterRewardModel,
  promptTable,
  randomWeights,
  roundTrip,
  run,
  runError,
  sftTable,
  tokenizerTable,
  toyPrompts,
  toySft
} from "./Fixtures.ts"

const tokenizer = tokenizerTable()
const prompts = promptTable(toyPrompts)
const sft = randomWeights("lm", 1)
const rm = letterRewardModel()
const sftRows = sftTable(toySft(8, 2))
const small = { batchSize: 4, maxNewTokens: 6, forwardBatchSize: 4 }
const update = { epochs: 2, minibatchSize: 2, lr: 1e-3, criticLr: 1e-3 }

const valueOf = (metrics: Table.Table<typeof MetricRow>, name: string): number => {
  const row = Table.toRows(metrics).find((r) => r.name === name)
  if (row === undefined) throw new Error(`no metric ${name}`)
  return row.value
}

const tensorOf = (weights: Table.Table, name: string): Float32Array => {
  const model = Weights.loadWeights(weights.arrow)
  const values = model.params.get(name)!.dataSync() as Float32Array
  for (const v of model.params.values()) v.dispose()
  return values
}

const init = await run(PpoInit, { init: rm }, { klCoef: 0.05 })
const { baseline } = await run(ReferenceBaseline, { prompts, tokenizer, sft, rm }, { maxNewTokens: 6 })
const start = { policy: sft, critic: init.critic, policyOptimizer: init.policyOptimizer, criticOptimizer: init.criticOptimizer, state: init.state }
const common = { prompts, tokenizer, ref: sft, rm, baseline, sft: sftRows }

describe("ppo-init", () => {
  it("makes a critic from the reward model (head copied), empty optimisers and an iteration-0 state", async () => {
    expect(Weights.tableConfig(init.critic.arrow).head).toBe("value")
    expect(Array.from(tensorOf(init.critic, "value_head.w"))).toEqual(Array.from(tensorOf(rm, "reward_head.w")))
    expect(Array.from(tensorOf(init.critic, "wte"))).toEqual(Array.from(tensorOf(rm, "wte")))
    expect(init.policyOptimizer.numRows).toBe(0)
    expect(Table.toRows(init.state)).toEqual([{ iteration: 0, controller: "Fixed", beta: 0.05, target: null, horizon: null, seed: 0 }])
    const fresh = await run(PpoInit, { init: sft }, { adaptiveKl: true, klCoef: 0.1, klTarget: 2, klHorizon: 100 })
    expect(Table.toRows(fresh.state)[0]).toMatchObject({ controller: "Adaptive", beta: 0.1, target: 2, horizon: 100 })
    expect(Math.max(...Array.from(tensorOf(fresh.critic, "value_head.w"), Math.abs))).toBeGreaterThan(0) // fresh, seeded head
  })
})

describe("reference-baseline", () => {
  it("one greedy response per distinct prompt, with its reward", async () => {
    const twice = promptTable([...toyPrompts.slice(0, 3), toyPrompts[0]!])
    const { baseline: b } = await run(ReferenceBaseline, { prompts: twice, tokenizer, sft, rm }, { maxNewTokens: 6 })
    const rows = Table.toRows(b)
    expect(rows.map((r) => r.key)).toEqual(toyPrompts.slice(0, 3).map((c) => promptKey([{ role: "user", content: c }])))
    // The same rows as from the full table (greedy: no randomness), and rewards match a direct score.
    const full = new Map(Table.toRows(baseline).map((r) => [r.key, r]))
    for (const r of rows) expect(r).toEqual(full.get(r.key))
    const { baseline: again } = await run(ReferenceBaseline, { prompts: twice, tokenizer, sft, rm }, { maxNewTokens: 6, seed: 9 }, 3)
    expect(bytes(again)).toEqual(bytes(b))
  })
})

describe("rollout", () => {
  it("records ids, per-token log-probs, values and baseline-subtracted rewards", async () => {
    const { rollouts } = await run(Rollout, { prompts, tokenizer, policy: sft, ref: sft, critic: init.critic, rm, baseline }, { ...small, iteration: 2 })
    const rows = Table.toRows(rollouts)
    expect(rows).toHaveLength(4)
    const refs = new Map(Table.toRows(baseline).map((r) => [r.key, r.refReward]))
    const model = Weights.loadWeights(rm.arrow)
    for (const r of rows) {
      const n = r.responseIds.length
      expect(n).toBeGreaterThan(0)
      expect(n).toBeLessThanOrEqual(6)
      expect([r.logProbs.length, r.refLogProbs.length, r.values.length]).toEqual([n, n, n])
      expect(r.refLogProbs).toEqual(r.logProbs) // policy = reference here
      expect(r.logProbs.every((x) => x < 0 && Number.isFinite(x))).toBe(true)
      expect(r.finished).toBe(r.responseIds[n - 1] === 0)
      expect(r.round).toBe(2)
      expect(r.baselineReward).toBe(refs.get(r.key))
      expect(r.reward).toBeCloseTo(r.rawReward - r.baselineReward, 12)
      const direct = Models.rewards(model, [Int32Array.from(r.promptIds)], [Int32Array.from(r.responseIds)], 1)[0]!
      expect(r.rawReward).toBeCloseTo(direct, 5)
    }
    Models.disposeModels(model)
  })

  it("useBaseline: false keeps raw rewards; a prompt without a baseline row fails", async () => {
    const inputs = { prompts, tokenizer, policy: sft, ref: sft, critic: init.critic, rm, baseline }
    const raw = Table.toRows((await run(Rollout, inputs, { ...small, useBaseline: false })).rollouts)
    const withBaseline = Table.toRows((await run(Rollout, inputs, small)).rollouts)
    expect(raw.map((r) => r.responseIds)).toEqual(withBaseline.map((r) => r.responseIds)) // same samples
    for (const r of raw) expect([r.reward, r.baselineReward]).toEqual([r.rawReward, 0])
    const missing = Table.make(PolicyBaselineRow, Table.toRows(baseline).slice(1))
    const error = await runError(Rollout, { ...inputs, baseline: missing }, { ...small, batchSize: 8 })
    expect(error).toBeInstanceOf(PolicyError)
    expect(String((error as PolicyError).message)).toMatch(/no reference-baseline row/)
  })

  it("a model with the wrong head is refused, naming the input", async () => {
    const error = await runError(Rollout, { prompts, tokenizer, policy: sft, ref: sft, critic: sft, rm, baseline }, small)
    expect((error as PolicyError).message).toMatch(/input 'critic' .* head "lm" but needs head "value"/)
  })
})

describe("ppo-update", () => {
  it("moves policy and critic, counts optimiser steps and advances the state", async () => {
    const { rollouts } = await run(Rollout, { prompts, tokenizer, policy: sft, ref: sft, critic: init.critic, rm, baseline }, small)
    const before = tf.memory().numTensors
    const out = await run(PpoUpdate, { rollouts, tokenizer, sft: sftRows, ...start }, update)
    expect(tf.memory().numTensors).toBe(before) // every tensor freed
    expect(tensorOf(out.policy, "wte")).not.toEqual(tensorOf(sft, "wte"))
    expect(tensorOf(out.critic, "value_head.w")).not.toEqual(tensorOf(init.critic, "value_head.w"))
    expect(out.policyOptimizer.arrow.schema.metadata.get("step")).toBe("4") // 2 epochs × 2 minibatches
    expect(out.criticOptimizer.arrow.schema.metadata.get("step")).toBe("4")
    expect(Table.toRows(out.state)[0]).toMatchObject({ iteration: 1, controller: "Fixed", beta: 0.05 })
    expect(Table.toRows(out.state)[0]!.seed).toBeGreaterThan(0)
    const names = Table.toRows(out.metrics).map((r) => r.name)
    for (const name of ["reward_mean", "reward_std", "kl", "policy_loss", "value_loss", "clip_fraction", "entropy", "response_length"]) expect(names).toContain(name)
    expect(names).not.toContain("ptx_loss")
    expect(valueOf(out.metrics, "kl")).toBe(0) // policy = reference at rollout time
    expect(valueOf(out.metrics, "entropy")).toBeGreaterThan(4) // a random model: near ln(261) ≈ 5.56
    expect(Table.toRows(out.metrics).every((r) => r.step === 1 && Number.isFinite(r.value))).toBe(true)
  })

  it("restores optimiser state: the second update continues the step count", async () => {
    const { rollouts } = await run(Rollout, { prompts, tokenizer, policy: sft, ref: sft, critic: init.critic, rm, baseline }, small)
    const first = await run(PpoUpdate, { rollouts, tokenizer, sft: sftRows, ...start }, update)
    const second = await run(PpoUpdate, { rollouts, tokenizer, sft: sftRows, ...first }, { ...update, iteration: 2 })
    expect(second.policyOptimizer.arrow.schema.metadata.get("step")).toBe("8")
    const model = Weights.loadWeights(sft.arrow)
    const opt = AdamW.stateFromTable(model.params, second.policyOptimizer.arrow)
    expect(opt.step).toBe(8)
    AdamW.dispose(opt), Models.disposeModels(model)
  })

  it("PTX adds the SFT next-token loss to the policy step", async () => {
    const { rollouts } = await run(Rollout, { prompts, tokenizer, policy: sft, ref: sft, critic: init.critic, rm, baseline }, small)
    const off = await run(PpoUpdate, { rollouts, tokenizer, sft: sftRows, ...start }, update)
    const on = await run(PpoUpdate, { rollouts, tokenizer, sft: sftRows, ...start }, { ...update, ptxCoef: 1, ptxBatchSize: 4 })
    expect(valueOf(on.metrics, "ptx_loss")).toBeGreaterThan(4) // random model: ≈ ln(261)
    expect(bytes(on.policy)).not.toEqual(bytes(off.policy))
    expect(bytes(on.critic)).toEqual(bytes(off.critic)) // PTX touches only the policy
  })

  it("the adaptive controller raises β when the KL exceeds its target", async () => {
    const policy = randomWeights("lm", 7) // a policy that differs from the reference: KL > 0
    const { rollouts } = await run(Rollout, { prompts, tokenizer, policy, ref: sft, critic: init.critic, rm, baseline }, small)
    const adaptive = await run(PpoInit, { init: rm }, { adaptiveKl: true, klCoef: 0.1, klTarget: 0.01, klHorizon: 10 })
    const out = await run(PpoUpdate, { rollouts, tokenizer, sft: sftRows, ...start, policy, state: adaptive.state }, update)
    expect(valueOf(out.metrics, "kl")).toBeGreaterThan(0.01)
    const next = Table.toRows(out.state)[0]!
    expect(next.beta).toBeCloseTo(0.1 * (1 + (0.2 * 4) / 10), 10) // error clipped at +0.2, 4 samples, horizon 10
    expect(valueOf(out.metrics, "kl_beta_next")).toBe(next.beta)
  })

  it("refuses a state from another iteration", async () => {
    const { rollouts } = await run(Rollout, { prompts, tokenizer, policy: sft, ref: sft, critic: init.critic, rm, baseline }, small)
    const error = await runError(PpoUpdate, { rollouts, tokenizer, sft: sftRows, ...start }, { ...update, iteration: 3 })
    expect((error as PolicyError).message).toMatch(/comes from iteration 0 but this node runs iteration 3/)
  })
})

describe("ppo-iteration", () => {
  const params = { ...small, ...update }
  const iterate = (s: typeof start, i: number, seed = 0) => run(PpoIteration, { ...common, ...s }, { ...params, iteration: i }, seed)

  it("with one step per checkpoint equals rollout → ppo-update", async () => {
    const a = await iterate(start, 1)
    const { rollouts } = await run(Rollout, { prompts, tokenizer, policy: sft, ref: sft, critic: init.critic, rm, baseline }, { ...small, iteration: 1 })
    const b = await run(PpoUpdate, { rollouts: roundTrip(rollouts), tokenizer, sft: sftRows, ...start }, { ...update, iteration: 1 })
    expect(bytes(a.rollouts)).toEqual(bytes(rollouts))
    for (const k of ["policy", "critic", "policyOptimizer", "criticOptimizer", "state", "metrics"] as const) expect(bytes(a[k])).toEqual(bytes(b[k]))
  })

  it("is deterministic: the same seed gives byte-identical outputs, another run seed other samples", async () => {
    const a = await iterate(start, 1), b = await iterate(start, 1)
    for (const k of ["policy", "critic", "policyOptimizer", "criticOptimizer", "state", "metrics", "rollouts"] as const) expect(bytes(a[k])).toEqual(bytes(b[k]))
    const c = await iterate(start, 1, 1)
    expect(bytes(c.rollouts)).not.toEqual(bytes(a.rollouts))
    expect(bytes(c.policy)).not.toEqual(bytes(a.policy))
  })

  it("resumes: iterations 1..3 in one go equal 1..2, then 3 from the stored tables", async () => {
    let s = start
    const outputs = []
    for (let i = 1; i <= 3; i++) {
      const out = await iterate(s, i)
      outputs.push(out)
      s = out
    }
    // A second run stops after iteration 2; iteration 3 then starts from what the store gives back.
    const stored = Object.fromEntries(Object.entries(outputs[1]!).map(([k, t]) => [k, roundTrip(t)])) as typeof outputs[1]
    const resumed = await iterate(stored, 3)
    for (const k of ["policy", "critic", "policyOptimizer", "criticOptimizer", "state", "metrics", "rollouts"] as const) {
      expect(bytes(resumed[k])).toEqual(bytes(outputs[2]![k]))
    }
    expect(Table.toRows(outputs[2]!.state)[0]!.iteration).toBe(3)
    expect(outputs[2]!.policyOptimizer.arrow.schema.metadata.get("step")).toBe("12")
  })

  it("runs several rounds per checkpoint, numbering rounds across iterations", async () => {
    const out = await run(PpoIteration, { ...common, ...start }, { ...params, iteration: 1, stepsPerCheckpoint: 2 })
    expect([...new Set(Table.toRows(out.rollouts).map((r) => r.round))]).toEqual([1, 2])
    expect([...new Set(Table.toRows(out.metrics).map((r) => r.step))]).toEqual([1, 2])
    expect(out.policyOptimizer.arrow.schema.metadata.get("step")).toBe("8")
    const second = await run(PpoIteration, { ...common, ...out }, { ...params, iteration: 2, stepsPerCheckpoint: 2 })
    expect([...new Set(Table.toRows(second.rollouts).map((r) => r.round))]).toEqual([3, 4])
  })
})
