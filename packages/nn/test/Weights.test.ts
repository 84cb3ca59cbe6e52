import * as tf from "@tensorflow/tfjs-core"
import { tableFromIPC, tableToIPC } from "apache-arrow"
import { describe, expect, it } from "vitest"
import * as AdamW from "../src/AdamW.ts"
import * as Gpt from "../src/Gpt.ts"
import * as Train from "../src/Train.ts"
import * as Weights from "../src/Weights.ts"
import { availableBackends, maxAbsDiff, useBackend } from "./backends.ts"

const config: Gpt.Config = { vocabSize: 20, dModel: 8, nLayers: 2, nHeads: 2, contextLength: 8 }
const ids = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
const logitsOf = (m: Gpt.Model) => tf.tidy(() => Gpt.logits(m, tf.tensor2d(ids, [2, 5], "int32")).dataSync() as Float32Array)
const trainABit = (m: Gpt.Model, opt: AdamW.Optimizer, steps: number) => {
  const batch = Train.sftBatch([{ prompt: Int32Array.of(1, 2), response: Int32Array.of(3, 4, 5) }], config.contextLength)
  for (let i = 0; i < steps; i++) Train.trainStep(m, opt, Train.lmBatchLoss, batch, { lr: 1e-2 })
  tf.dispose([batch.ids, batch.targets, batch.lossMask, batch.attentionMask])
}

describe.each(availableBackends)("weights on %s", (backend) => {
  useBackend(backend)

  it("round-trip through Arrow IPC gives identical logits, config and head", () => {
    const m = Gpt.init(config, { seed: 1, head: "value" })
    const opt = AdamW.make(m.params)
    trainABit(m, opt, 3) // weights away from init
    const table = tableFromIPC(tableToIPC(Weights.weightsToTable(m)))
    expect(table.numRows).toBe(m.params.size)
    expect(JSON.parse(table.schema.metadata.get("config")!)).toEqual(config)
    const back = Weights.loadWeights(table, config)
    expect(back.head).toBe("value")
    expect(maxAbsDiff(logitsOf(back), logitsOf(m))).toBe(0)
    expect(maxAbsDiff(back.params.get("value_head.w")!.dataSync(), m.params.get("value_head.w")!.dataSync())).toBe(0)
    ;[m, back].forEach(Gpt.dispose), AdamW.dispose(opt)
  })

  it("fails with errors naming the tensor and both shapes, or the config", () => {
    const m = Gpt.init(config, { seed: 2 })
    const table = Weights.weightsToTable(m)
    expect(() => Weights.loadWeights(table, { ...config, dModel: 16 })).toThrow(/differs from expected/)
    // A table whose config claims a bigger context than its wpe holds.
    const lying = tableFromIPC(tableToIPC(table))
    lying.schema.metadata.set("config", JSON.stringify({ ...config, contextLength: 16 }))
    expect(() => Weights.loadWeights(lying)).toThrow(/tensor "wpe" has shape \[8,8\] in the table but the model expects \[16,8\]/)
    const fewer = tableFromIPC(tableToIPC(table.slice(0, 5)))
    expect(() => Weights.loadWeights(fewer)).toThrow(/lacks tensors .*ln_f.gamma/)
    Gpt.dispose(m)
  })

  it("optimizer state round-trips (Arrow and plain) and training resumes identically", () => {
    const a = Gpt.init(config, { seed: 3 }), b = Gpt.init(config, { seed: 3 })
    const optA = AdamW.make(a.params), optB = AdamW.make(b.params)
    trainABit(a, optA, 2), trainABit(b, optB, 2)
    // b is checkpointed: weights and optimizer state go through IPC and come back as new objects.
    const b2 = Weights.loadWeights(tableFromIPC(tableToIPC(Weights.weightsToTable(b))))
    const optB2 = AdamW.stateFromTable(b2.params, tableFromIPC(tableToIPC(AdamW.stateToTable(optB))))
    expect(optB2.step).toBe(2)
    trainABit(a, optA, 2), trainABit(b2, optB2, 2)
    expect(maxAbsDiff(logitsOf(a), logitsOf(b2))).toBeLessThan(1e-6)
    const plain = AdamW.importState(b2.params, AdamW.exportState(optB2))
    expect(maxAbsDiff(plain.v.get("wte")!.dataSync(), optB2.v.get("wte")!.dataSync())).toBe(0)
    const other = Gpt.init({ ...config, dModel: 16 })
    expect(() => AdamW.importState(other.params, AdamW.exportState(optB2))).toThrow(/tensor "wte" has shape \[20,8\] in the state but \[20,16\]/)
    ;[a, b, b2, other].forEach(Gpt.dispose), [optA, optB, optB2, plain].forEach(AdamW.dispose)
  })
})
