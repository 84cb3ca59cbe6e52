/**
 * The LM stages with `workers: 2`: data-parallel training across two worker threads declares two
 * CPU slots, runs end to end and trains the same model as `workers: 1` (in process) up to float32
 * rounding.
 */
import { type AnyStage, Stage, Table } from "@rlhf/core"
import * as nn from "@rlhf/nn"
import { describe, expect, it } from "vitest"
import { Pretrain } from "../../src/model/Pretrain.ts"
import { RmTrain } from "../../src/model/RmTrain.ts"
import { Sft } from "../../src/model/Sft.ts"
import type { WeightsRow } from "../../src/schemas/WeightsRow.ts"
import { metricRows, runModelStage, sftTable, textTable, toyCorpus } from "./ModelHarness.ts"
import { initTable, keywordPairs, pairsTable, tokenizerTable } from "./RmFixtures.ts"

const tokenizer = tokenizerTable()
const init = initTable()

/** Every parameter of a weights table by name. */
const parameters = (weights: Table.Table<typeof WeightsRow>): Map<string, Float32Array> => {
  const model = nn.Weights.loadWeights(weights.arrow)
  const out = new Map([...model.params].map(([n, v]) => [n, Float32Array.from(v.dataSync())]))
  nn.Gpt.dispose(model)
  return out
}

const maxDiff = (a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>, names = [...a.keys()]) =>
  Math.max(...names.map((n) => a.get(n)!.reduce((m, x, i) => Math.max(m, Math.abs(x - b.get(n)![i]!)), 0)))

const trainLosses = (metrics: Table.Table) => metricRows(metrics, "loss", "train").map((r) => r.value)

/** Declares `workers` CPU slots, and with 2 workers trains what 1 does: weights within 1e-4 (while training moved them by far more). */
const sameTraining = async <S extends AnyStage>(stage: S, inputs: Parameters<typeof runModelStage<S>>[1], params: Record<string, unknown>, from?: Table.Table<typeof WeightsRow>) => {
  expect(Stage.resourcesOf(stage, { ...params, workers: 2 }).cpu).toBe(2)
  expect(Stage.resourcesOf(stage, params).cpu).toBe(1)
  const two = await runModelStage(stage, inputs, { ...params, workers: 2 }, 3)
  const one = await runModelStage(stage, inputs, { ...params, workers: 1 }, 3)
  expect(two.lineage["dataParallel"]).toBe("2 threads")
  expect(one.lineage["dataParallel"]).toBeUndefined()
  const out2 = two.outputs as unknown as { weights: Table.Table<typeof WeightsRow>; metrics: Table.Table }
  const out1 = one.outputs as unknown as { weights: Table.Table<typeof WeightsRow>; metrics: Table.Table }
  const w2 = parameters(out2.weights), w1 = parameters(out1.weights), w0 = from === undefined ? undefined : parameters(from)
  if (w0 !== undefined) expect(maxDiff(w2, w0, [...w2.keys()].filter((n) => w0.has(n)))).toBeGreaterThan(2e-3)
  expect(maxDiff(w2, w1)).toBeLessThan(1e-4)
  const l2 = trainLosses(out2.metrics), l1 = trainLosses(out1.metrics)
  expect(l2).toHaveLength(l1.length)
  l2.forEach((l, i) => expect(Math.abs(l - l1[i]!)).toBeLessThan(1e-4))
  return { two: out2, w2, w0 }
}

describe("data-parallel LM stages (workers: 2)", () => {
  it("pretrain", async () => {
    const params = { dModel: 32, nLayers: 1, nHeads: 2, contextLength: 32, steps: 6, batchSize: 5, lr: 3e-3, warmupSteps: 1, evalEvery: 3, evalWindows: 4 }
    const { two } = await sameTraining(Pretrain, { corpus: textTable(toyCorpus(60)), tokenizer }, params)
    const losses = trainLosses(two.metrics)
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.1)
    expect(metricRows(two.metrics, "loss", "val").map((r) => r.step)).toEqual([2, 5])
  })

  it("sft", async () => {
    const examples = sftTable(Array.from({ length: 9 }, (_, i) => ({ prompt: `question ${i}?`, response: "an answer ".repeat(1 + (i % 3)) })))
    await sameTraining(Sft, { examples, tokenizer, init }, { steps: 5, batchSize: 7, lr: 3e-3, warmupSteps: 1, valFraction: 0 }, init)
  })

  it("rm-train, with frozen layers kept bit for bit", async () => {
    const pairs = pairsTable(keywordPairs(24))
    const { w2, w0 } = await sameTraining(RmTrain, { pairs, tokenizer, init }, { steps: 5, batchSize: 7, lr: 3e-3, warmupSteps: 1, freezeLayers: 1 }, init)
    for (const name of ["wte", "wpe", "h.0.attn.w_qkv", "h.0.mlp.w_fc"]) expect(Buffer.from(w2.get(name)!.buffer).equals(Buffer.from(w0!.get(name)!.buffer))).toBe(true)
  })
})
