import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import * as AdamW from "../src/AdamW.ts"
import * as Generate from "../src/Generate.ts"
import * as Gpt from "../src/Gpt.ts"
import * as LogProbs from "../src/LogProbs.ts"
import * as LrSchedule from "../src/LrSchedule.ts"
import * as Train from "../src/Train.ts"
import { availableBackends, useBackend } from "./backends.ts"

const config: Gpt.Config = { vocabSize: 24, dModel: 16, nLayers: 2, nHeads: 2, contextLength: 12 }
const examples: Train.SftExample[] = [
  { prompt: Int32Array.of(3, 5, 7), response: Int32Array.of(9, 11, 0) },
  { prompt: Int32Array.of(4), response: Int32Array.of(6, 8, 10, 12, 0) }
]

describe.each(availableBackends)("training on %s", (backend) => {
  useBackend(backend)

  it("keeps the live tensor count flat over 50 steps (train, generate, log-probs)", () => {
    const model = Gpt.init(config, { seed: 1 })
    const opt = AdamW.make(model.params)
    const batch = Train.sftBatch(examples, config.contextLength)
    const step = (i: number) => {
      Train.trainStep(model, opt, Train.lmBatchLoss, batch, { lr: 1e-3 })
      if (i % 10 === 0) {
        Generate.generate(model, [Int32Array.of(3, 5), Int32Array.of(4)], { maxNewTokens: 4, seed: i })
        LogProbs.responseLogProbs(model, [Int32Array.of(3)], [Int32Array.of(5, 6)])
      }
    }
    step(0) // first step creates the optimiser's lazily shaped state, if any
    const before = tf.memory().numTensors
    for (let i = 1; i <= 50; i++) step(i)
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose([batch.ids, batch.targets, batch.lossMask, batch.attentionMask])
    Gpt.dispose(model), AdamW.dispose(opt)
  })

  it("overfits a fixed batch: the loss falls and greedy decoding reproduces the responses", () => {
    const model = Gpt.init(config, { seed: 2 })
    const opt = AdamW.make(model.params, { weightDecay: 0 })
    const batch = Train.sftBatch(examples, config.contextLength)
    const first = Train.trainStep(model, opt, Train.lmBatchLoss, batch, { lr: 1e-2 })
    let last = first
    for (let i = 0; i < 80; i++) last = Train.trainStep(model, opt, Train.lmBatchLoss, batch, { lr: 1e-2 })
    expect(first.loss).toBeGreaterThan(2.5) // ~ln(24) at init
    expect(last.loss).toBeLessThan(0.1)
    expect(first.gradNorm).toBeGreaterThan(0)
    const g = Generate.generate(model, [examples[0]!.prompt, examples[1]!.prompt], { maxNewTokens: 6, greedy: true })
    expect(g.tokens.map((t) => Array.from(t))).toEqual(examples.map((e) => Array.from(e.response)))
    tf.dispose([batch.ids, batch.targets, batch.lossMask, batch.attentionMask])
    Gpt.dispose(model), AdamW.dispose(opt)
  })
})

describe("losses, schedule and optimiser", () => {
  it("lmLoss is the masked mean cross entropy", () => {
    const logits = tf.tensor3d([[[0, 0, 0], [2, 0, 0]], [[0, 1, 0], [9, 9, 9]]])
    const targets = tf.tensor2d([[0, 0], [1, 2]], [2, 2], "int32")
    const mask = tf.tensor2d([[1, 1], [1, 0]])
    const ce = (row: number[], t: number) => Math.log(row.reduce((s, x) => s + Math.exp(x), 0)) - row[t]!
    const expected = (ce([0, 0, 0], 0) + ce([2, 0, 0], 0) + ce([0, 1, 0], 1)) / 3
    expect(Train.lmLoss(logits, targets, mask).dataSync()[0]).toBeCloseTo(expected, 5)
  })

  it("sftBatch masks prompt targets and padding", () => {
    const b = Train.sftBatch(examples, config.contextLength)
    expect(b.ids.shape).toEqual([2, 5])
    expect(b.lossMask.arraySync()).toEqual([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    expect(b.attentionMask.arraySync()).toEqual([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]])
    expect(b.targets.arraySync()[0]).toEqual([5, 7, 9, 11, 0])
    const c = Train.sftBatch([examples[0]!, { prompt: Int32Array.of(1), response: Int32Array.of(2) }], 12)
    expect(c.attentionMask.arraySync()[1]).toEqual([1, 0, 0, 0, 0])
    expect(c.lossMask.arraySync()[1]).toEqual([1, 0, 0, 0, 0])
  })

  it("warms up linearly, then decays by a cosine to lr / 10", () => {
    const s = LrSchedule.warmupCosine({ lr: 1, warmup: 10, total: 110 })
    expect(s(0)).toBeCloseTo(0.1)
    expect(s(9)).toBeCloseTo(1)
    expect(s(60)).toBeCloseTo(0.55)
    expect(s(110)).toBeCloseTo(0.1)
    for (let i = 10; i < 110; i++) expect(s(i + 1)).toBeLessThanOrEqual(s(i))
  })

  it("clips to the global norm and decays matrices only", () => {
    const grads = new Map([["a", tf.tensor1d([3, 0])], ["b", tf.tensor1d([0, 4])]])
    const { grads: clipped, norm } = AdamW.clipByGlobalNorm(grads, 1)
    expect(norm.dataSync()[0]).toBeCloseTo(5)
    expect(Array.from(clipped.get("a")!.dataSync())).toEqual([expect.closeTo(0.6, 5), 0])
    const cfg = AdamW.defaults
    expect(AdamW.decays("h.0.mlp.w_fc", [4, 16], cfg)).toBe(true)
    expect(AdamW.decays("h.0.mlp.b_fc", [16], cfg)).toBe(false)
    expect(AdamW.decays("h.0.ln1.gamma", [4], cfg)).toBe(false)
    expect(AdamW.decays("wte", [20, 4], cfg)).toBe(false)
    expect(AdamW.decays("wte", [20, 4], { ...cfg, decayEmbeddings: true })).toBe(true)
    // With a zero gradient only decoupled decay moves a matrix: p <- p (1 - lr wd).
    const p = new Map([["w", tf.variable(tf.ones([2, 2]))], ["b", tf.variable(tf.ones([2]))]])
    const opt = AdamW.make(p, { weightDecay: 0.5 })
    AdamW.apply(opt, p, new Map([["w", tf.zeros([2, 2])], ["b", tf.zeros([2])]]), 0.1)
    expect(Array.from(p.get("w")!.dataSync())).toEqual([0.95, 0.95, 0.95, 0.95].map((x) => expect.closeTo(x, 6)))
    expect(Array.from(p.get("b")!.dataSync())).toEqual([1, 1])
  })
})
