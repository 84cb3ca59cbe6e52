import { Table } from "@rlhf/core"
import * as nn from "@rlhf/nn"
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import { RmEval } from "../../src/model/RmEval.ts"
import { bradleyTerryForGradient, epochBatches, RmTrain } from "../../src/model/RmTrain.ts"
import { rewardModelLossReference } from "../../src/ppo/RewardModelLoss.ts"
import { runStage, stageError } from "../data/RunStage.ts"
import { initTable, keywordPairs, pairsTable, tokenizerTable } from "./RmFixtures.ts"

type Metrics = Awaited<ReturnType<typeof runStage<typeof RmTrain>>>["metrics"]
const value = (metrics: Metrics, name: string, group: string | null = null, step?: number) => {
  const rows = Table.toRows(metrics).filter((r) => r.name === name && r.group === group && (step === undefined || r.step === step))
  if (rows.length === 0) throw new Error(`no metric ${name}/${group}/${step}`)
  return rows.at(-1)!.value
}
const series = (metrics: Metrics, name: string, group: string) =>
  Table.toRows(metrics).filter((r) => r.name === name && r.group === group).map((r) => r.value)
const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

const tiny = { steps: 40, batchSize: 16, lr: 3e-3, warmupSteps: 5 }

describe("rm-train", () => {
  it("learns a keyword rule, generalising to held-out prompts, within seconds", async () => {
    const pairs = keywordPairs(256)
    const out = await runStage(RmTrain, { pairs: pairsTable(pairs), tokenizer: tokenizerTable(), init: initTable() }, { ...tiny, holdout: 0.25, evalEvery: 10 })
    const m = out.metrics
    expect(value(m, "pairs")).toBe(256)
    expect(value(m, "trainPairs") + value(m, "holdoutPairs")).toBe(256)
    expect(value(m, "holdoutPairs")).toBeGreaterThan(30)
    expect(value(m, "steps")).toBe(40)
    // Evaluations at steps 9, 19, 29, 39, on held-out prompts.
    expect(series(m, "accuracy", "holdout")).toHaveLength(4)
    expect(value(m, "accuracy", "holdout", 39)).toBeGreaterThan(0.95)
    const loss = series(m, "loss", "train")
    expect(loss).toHaveLength(40)
    expect(mean(loss.slice(-5))).toBeLessThan(mean(loss.slice(0, 5)) / 3)
    // Score statistics are logged every step, so drift is visible.
    expect(series(m, "scoreMean", "train")).toHaveLength(40)
    expect(series(m, "scoreStd", "train").every((s) => s >= 0)).toBe(true)
    // The output is a reward model of the init's architecture.
    const model = nn.Weights.loadWeights(out.weights.arrow)
    expect(model.head).toBe("reward")
    expect(model.config.dModel).toBe(32)
    expect(value(m, "parameters")).toBe(nn.Gpt.parameterCount(model))
    nn.Gpt.dispose(model)
  })

  it("keeps scores smaller with the score prior than without, on the same data and seed", async () => {
    const pairs = pairsTable(keywordPairs(192, 5))
    const test = pairsTable(keywordPairs(64, 6))
    const run = async (scorePrior: number) => {
      const out = await runStage(RmTrain, { pairs, tokenizer: tokenizerTable(), init: initTable() }, { ...tiny, steps: 60, scorePrior })
      const evaluated = await runStage(RmEval, { pairs: test, tokenizer: tokenizerTable(), weights: out.weights })
      const scores = Table.toRows(evaluated.scores).flatMap((s) => [s.chosenScore, s.rejectedScore])
      return { std: Table.toRows(evaluated.metrics).at(-1)!.scoreStd, meanAbs: mean(scores.map(Math.abs)), accuracy: Table.toRows(evaluated.metrics).at(-1)!.accuracy }
    }
    const plain = await run(0)
    const prior = await run(0.1)
    // Both learn the rule; the prior pulls the scores towards 0.
    expect(plain.accuracy).toBeGreaterThan(0.9)
    expect(prior.accuracy).toBeGreaterThan(0.9)
    expect(prior.std).toBeLessThan(0.75 * plain.std)
    expect(prior.meanAbs).toBeLessThan(0.75 * plain.meanAbs)
  })

  it("is deterministic for a seed, and the seed matters", async () => {
    const inputs = { pairs: pairsTable(keywordPairs(48)), tokenizer: tokenizerTable(), init: initTable() }
    const params = { steps: 4, batchSize: 8, lr: 3e-3 }
    const a = await runStage(RmTrain, inputs, params)
    const b = await runStage(RmTrain, inputs, params)
    const c = await runStage(RmTrain, inputs, { ...params, seed: 1 })
    expect(Buffer.from(Table.toIPC(a.weights)).equals(Buffer.from(Table.toIPC(b.weights)))).toBe(true)
    expect(Buffer.from(Table.toIPC(a.weights)).equals(Buffer.from(Table.toIPC(c.weights)))).toBe(false)
    expect(series(a.metrics, "loss", "train")).toEqual(series(b.metrics, "loss", "train"))
  })

  it("microBatch accumulates the gradient of the whole batch: it trains what one pass trains, to float32 rounding", async () => {
    const inputs = { pairs: pairsTable(keywordPairs(48)), tokenizer: tokenizerTable(), init: initTable() }
    const params = { steps: 4, batchSize: 12, lr: 3e-3 }
    const whole = await runStage(RmTrain, inputs, params)
    const passes = await runStage(RmTrain, inputs, { ...params, microBatch: 5 }) // passes of 5, 5 and 2 pairs
    const weights = (t: typeof whole.weights): Map<string, Float32Array> => {
      const model = nn.Weights.loadWeights(t.arrow)
      const values = new Map([...model.params].map(([name, v]) => [name, v.dataSync().slice() as Float32Array]))
      nn.Gpt.dispose(model)
      return values
    }
    const maxDiff = (x: Map<string, Float32Array>, y: Map<string, Float32Array>) =>
      Math.max(...[...x].filter(([name]) => y.has(name)).map(([name, v]) => v.reduce((m, e, j) => Math.max(m, Math.abs(e - y.get(name)![j]!)), 0)))
    const [a, b] = [weights(whole.weights), weights(passes.weights)]
    expect(maxDiff(a, b)).toBeLessThan(1e-4)
    // The same losses and score statistics, computed over all the step's pairs.
    const close = (x: number[], y: number[]) => x.length === 4 && x.every((v, i) => Math.abs(v - y[i]!) < 1e-4)
    for (const name of ["loss", "accuracy", "scoreMean", "scoreStd", "gradNorm"]) expect(close(series(whole.metrics, name, "train"), series(passes.metrics, name, "train")), name).toBe(true)
    // And training moved the weights (two steps that changed nothing would agree too).
    expect(maxDiff(a, weights(initTable()))).toBeGreaterThan(1e-3)
  })

  it("refuses microBatch with data-parallel workers, naming both params", async () => {
    const inputs = { pairs: pairsTable(keywordPairs(16)), tokenizer: tokenizerTable(), init: initTable() }
    const error = (await stageError(RmTrain, inputs, { steps: 1, batchSize: 8, microBatch: 4, workers: 2 })) as Error
    expect(error.message).toMatch(/microBatch 4.*workers is 2/)
  })

  it("truncates to the context, dropping and counting pairs whose responses become identical", async () => {
    const long = "the same long opening sentence that fills the whole context window of the model ".repeat(2)
    const clash = keywordPairs(8, 3).map((p) => ({ ...p, chosen: `${long} yes`, rejected: `${long} no!` }))
    const longPrompt = keywordPairs(8, 4).map((p) => ({ ...p, prompt: [{ role: "user" as const, content: "an old question ".repeat(10) }, { role: "assistant" as const, content: "an old answer" }, ...p.prompt] }))
    const out = await runStage(RmTrain, { pairs: pairsTable([...clash, ...longPrompt, ...keywordPairs(16, 5)]), tokenizer: tokenizerTable(), init: initTable() }, { steps: 2, batchSize: 4 })
    expect(value(out.metrics, "droppedIdentical")).toBe(8)
    expect(value(out.metrics, "trainPairs")).toBe(24)
    // The long prompts keep their last turn; the 64-token context cuts them.
    expect(value(out.metrics, "promptTruncated")).toBe(8)
    // Nothing left to train on is an error that says what to do.
    const error = await stageError(RmTrain, { pairs: pairsTable(clash), tokenizer: tokenizerTable(), init: initTable() }, { steps: 2 })
    expect(String((error as Error).message)).toMatch(/no training pairs left.*8 identical after truncation to 64 tokens/)
  })

  it("keeps frozen layers at their SFT values and trains the rest", async () => {
    const init = initTable({ nLayers: 2 })
    const out = await runStage(RmTrain, { pairs: pairsTable(keywordPairs(32)), tokenizer: tokenizerTable(), init }, { steps: 3, batchSize: 8, lr: 1e-2, freezeLayers: 1 })
    const before = nn.Weights.loadWeights(init.arrow), after = nn.Weights.loadWeights(out.weights.arrow)
    const same = (name: string) => tf.tidy(() => tf.max(tf.abs(tf.sub(before.params.get(name)!, after.params.get(name)!))).dataSync()[0]!) === 0
    for (const name of ["wte", "wpe", "h.0.attn.w_qkv", "h.0.mlp.w_fc", "h.0.ln1.gamma"]) expect(same(name), name).toBe(true)
    for (const name of ["h.1.attn.w_qkv", "h.1.mlp.w_proj", "ln_f.gamma"]) expect(same(name), name).toBe(false)
    nn.Gpt.dispose(before), nn.Gpt.dispose(after)
  })

  it("batches every pair once per epoch, similar lengths together", () => {
    const lengths = Array.from({ length: 203 }, (_, i) => (i * 37) % 101)
    const batches = epochBatches(lengths, 8, nn.Prng.make(3))
    expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i))
    expect(batches.every((b) => b.length >= 1 && b.length <= 8)).toBe(true)
    // Sorted within windows of 8 batches, a batch spans far less of the length range than a random one.
    const spread = mean(batches.map((b) => Math.max(...b.map((i) => lengths[i]!)) - Math.min(...b.map((i) => lengths[i]!))))
    expect(spread).toBeLessThan(30)
    // Another seed, another order.
    expect(epochBatches(lengths, 8, nn.Prng.make(4))).not.toEqual(batches)
  })

  it("takes its gradient from a loss equal to the reference Bradley-Terry + score prior", async () => {
    await nn.TensorBackend.resolveBackend({ warn: () => {} })
    const chosen = [1.5, -0.2, 0.3], rejected = [0.5, 0.4, 0.3], scorePrior = 0.05
    const c = tf.variable(tf.tensor1d(chosen)), r = tf.variable(tf.tensor1d(rejected))
    const { value: loss, grads } = tf.variableGrads(() => bradleyTerryForGradient(tf, c, r, scorePrior), [c, r])
    expect(loss.dataSync()[0]).toBeCloseTo(rewardModelLossReference({ chosen, rejected, scorePrior }).loss, 5)
    // d/dc_i = (−σ(−m_i) + 2λ c_i) / B and d/dr_i = (σ(−m_i) + 2λ r_i) / B, m = c − r, B = 3.
    const sig = (x: number) => 1 / (1 + Math.exp(-x))
    const gc = Array.from(grads[c.name]!.dataSync()), gr = Array.from(grads[r.name]!.dataSync())
    chosen.forEach((ci, i) => {
      const m = ci - rejected[i]!
      expect(gc[i]).toBeCloseTo((-sig(-m) + 2 * scorePrior * ci) / 3, 5)
      expect(gr[i]).toBeCloseTo((sig(-m) + 2 * scorePrior * rejected[i]!) / 3, 5)
    })
    tf.dispose([c, r, loss, ...Object.values(grads)])
  })

  it("frees every tensor it makes", async () => {
    await nn.TensorBackend.resolveBackend({ warn: () => {} })
    const inputs = { pairs: pairsTable(keywordPairs(32)), tokenizer: tokenizerTable(), init: initTable() }
    await runStage(RmTrain, inputs, { steps: 2, batchSize: 8 })
    const before = tf.memory().numTensors
    await runStage(RmTrain, inputs, { steps: 3, batchSize: 8, evalEvery: 1 })
    expect(tf.memory().numTensors).toBe(before)
  })
})
