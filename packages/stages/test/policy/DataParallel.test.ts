/**
 * The policy stages with `workers: 2`: they declare two CPU slots and run their training steps
 * (dpo, ppo-update, ppo-iteration) and rollout sampling on two worker threads, training what
 * `workers: 1` trains up to float32 rounding and sampling deterministically.
 */
import { Stage, Table } from "@rlhf/core"
import * as Gpt from "@rlhf/nn/Gpt"
import * as Weights from "@rlhf/nn/Weights"
import { describe, expect, it } from "vitest"
import { Dpo } from "../../src/policy/DpoTrain.ts"
import { PpoInit } from "../../src/policy/PpoInit.ts"
import { PpoIteration } from "../../src/policy/PpoIteration.ts"
import { PpoUpdate } from "../../src/policy/PpoUpdate.ts"
import { ReferenceBaseline } from "../../src/policy/ReferenceBaseline.ts"
import { Rollout } from "../../src/policy/Rollout.ts"
import type { MetricRow } from "../../src/schemas/MetricRow.ts"
import { PreferenceRow } from "../../src/schemas/PreferenceRow.ts"
import type { WeightsRow } from "../../src/schemas/WeightsRow.ts"
import { bytes, letterRewardModel, promptTable, roundTrip, run, sftTable, tokenizerTable, toyPrompts, toySft, toySftWeights } from "./Fixtures.ts"

const tokenizer = tokenizerTable()
const prompts = promptTable(toyPrompts)
const sft = toySftWeights(20)
const rm = letterRewardModel()
const sftRows = sftTable(toySft(8, 2))
const init = await run(PpoInit, { init: rm }, { klCoef: 0.05 })
const { baseline } = await run(ReferenceBaseline, { prompts, tokenizer, sft, rm }, { maxNewTokens: 6 })
const start = { policy: sft, critic: init.critic, policyOptimizer: init.policyOptimizer, criticOptimizer: init.criticOptimizer, state: init.state }

const parameters = (weights: Table.Table<typeof WeightsRow>): Map<string, Float32Array> => {
  const model = Weights.loadWeights(weights.arrow)
  const out = new Map([...model.params].map(([n, v]) => [n, Float32Array.from(v.dataSync())]))
  Gpt.dispose(model)
  return out
}

const maxDiff = (a: Table.Table<typeof WeightsRow>, b: Table.Table<typeof WeightsRow>) => {
  const pa = parameters(a), pb = parameters(b)
  return Math.max(...[...pa].map(([n, x]) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - pb.get(n)![i]!)), 0)))
}

/** Metric values by name/group/step, as a map (step and group in the key). */
const metricMap = (metrics: Table.Table<typeof MetricRow>) => new Map(Table.toRows(metrics).map((r) => [`${r.name}/${r.group}/${r.step}`, r.value]))

/** The same metric rows, values within `tolerance` (relative above 1), except those named in `ties`. */
const expectSameMetrics = (a: Table.Table<typeof MetricRow>, b: Table.Table<typeof MetricRow>, tolerance: number, ties: ReadonlyArray<string> = []) => {
  const ma = metricMap(a), mb = metricMap(b)
  expect([...ma.keys()].sort()).toEqual([...mb.keys()].sort())
  for (const [k, v] of ma) if (!ties.includes(k)) expect(Math.abs(v - mb.get(k)!), k).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(v)))
}

describe("data-parallel policy stages (workers: 2)", () => {
  it("dpo: two CPU slots; trains what workers 1 does", async () => {
    expect(Stage.resourcesOf(Dpo, { workers: 2 }).cpu).toBe(2)
    const pairs = Table.make(PreferenceRow, toyPrompts.map((content, i) => ({
      prompt: [{ role: "user", content }], chosen: ["aaba", "abaa", "aaca", "daaa"][i % 4]!, rejected: ["bcdb", "cbdd", "dcbc", "bbcd"][i % 4]!,
      source: "test", annotator: null, category: null
    })))
    const params = { steps: 6, batchSize: 5, lr: 3e-3, beta: 0.5 } // 5 pairs: shards of 3 and 2
    const two = await run(Dpo, { pairs, tokenizer, sft }, { ...params, workers: 2 })
    const one = await run(Dpo, { pairs, tokenizer, sft }, params)
    expect(maxDiff(two.weights, sft)).toBeGreaterThan(2e-3)
    expect(maxDiff(two.weights, one.weights)).toBeLessThan(1e-4)
    // At step 0 the policy is the reference: every margin is 0 up to rounding, so which pairs
    // count as ranked right is rounding noise.
    expectSameMetrics(two.metrics, one.metrics, 1e-4, ["accuracy/train/0"])
  })

  it("ppo-update with PTX: two CPU slots; moves policy and critic as workers 1 does", async () => {
    expect(Stage.resourcesOf(PpoUpdate, { workers: 2 }).cpu).toBe(2)
    const { rollouts } = await run(Rollout, { prompts, tokenizer, policy: sft, ref: sft, critic: init.critic, rm, baseline }, { batchSize: 8, maxNewTokens: 6, forwardBatchSize: 8 })
    // Minibatches of 5 and 3 rollouts, PTX batches of 3 demonstrations: uneven shards everywhere.
    const update = { epochs: 2, minibatchSize: 5, lr: 3e-3, criticLr: 3e-3, ptxCoef: 0.5, ptxBatchSize: 3 }
    const inputs = { rollouts: roundTrip(rollouts), tokenizer, sft: sftRows, ...start }
    const two = await run(PpoUpdate, inputs, { ...update, workers: 2 })
    const one = await run(PpoUpdate, inputs, update)
    expect(maxDiff(two.policy, sft)).toBeGreaterThan(2e-3)
    expect(maxDiff(two.critic, init.critic)).toBeGreaterThan(2e-3)
    expect(maxDiff(two.policy, one.policy)).toBeLessThan(1e-4)
    expect(maxDiff(two.critic, one.critic)).toBeLessThan(1e-4)
    expect(two.policyOptimizer.arrow.schema.metadata.get("step")).toBe("4")
    expectSameMetrics(two.metrics, one.metrics, 1e-4)
  })

  it("rollout: sampling on the workers is deterministic, and the in-process sampling when every worker gets whole batches", async () => {
    expect(Stage.resourcesOf(Rollout, { workers: 2 }).cpu).toBe(2)
    const inputs = { prompts, tokenizer, policy: sft, ref: sft, critic: init.critic, rm, baseline }
    const rows = (t: Table.Table) => Table.toRows(t) as Array<{ responseIds: ArrayLike<number>; logProbs: ArrayLike<number> }>
    // 8 prompts in batches of 4: each worker generates one of the in-process batches.
    const whole = { batchSize: 8, maxNewTokens: 6, forwardBatchSize: 4 }
    const two = await run(Rollout, inputs, { ...whole, workers: 2 })
    const one = await run(Rollout, inputs, whole)
    expect(rows(two.rollouts).map((r) => Array.from(r.responseIds))).toEqual(rows(one.rollouts).map((r) => Array.from(r.responseIds)))
    // One batch of 8 in process; on two workers, two batches of 4 (so other samples), the same on every run.
    const split = { ...whole, forwardBatchSize: 8 }
    const a = await run(Rollout, inputs, { ...split, workers: 2 }), b = await run(Rollout, inputs, { ...split, workers: 2 })
    expect(bytes(a.rollouts)).toEqual(bytes(b.rollouts))
    expect(rows(a.rollouts).map((r) => Array.from(r.responseIds))).toEqual(rows(two.rollouts).map((r) => Array.from(r.responseIds)))
    const inProcess = await run(Rollout, inputs, split)
    expect(rows(a.rollouts).map((r) => Array.from(r.responseIds))).not.toEqual(rows(inProcess.rollouts).map((r) => Array.from(r.responseIds)))
  })

  it("ppo-iteration: a round of rollout sampling and update on the workers, deterministic", async () => {
    expect(Stage.resourcesOf(PpoIteration, { workers: 2 }).cpu).toBe(2)
    const params = { batchSize: 4, maxNewTokens: 6, forwardBatchSize: 4, epochs: 2, minibatchSize: 3, lr: 3e-3, criticLr: 3e-3, workers: 2 }
    const inputs = { prompts, tokenizer, ref: sft, rm, baseline, sft: sftRows, ...start }
    const a = await run(PpoIteration, inputs, params), b = await run(PpoIteration, inputs, params)
    for (const k of ["policy", "critic", "policyOptimizer", "criticOptimizer", "state", "metrics", "rollouts"] as const) expect(bytes(a[k])).toEqual(bytes(b[k]))
    expect(maxDiff(a.policy, sft)).toBeGreaterThan(2e-3)
    expect(Table.toRows(a.state)[0]).toMatchObject({ iteration: 1 })
    expect(Table.toRows(a.metrics).every((r) => Number.isFinite(r.value))).toBe(true)
  })
})
