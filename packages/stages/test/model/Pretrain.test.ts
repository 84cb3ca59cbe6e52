import { Stage, Table } from "@rlhf/core"
import * as Gpt from "@rlhf/nn/Gpt"
import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { ModelError } from "../../src/model/ModelError.ts"
import { Pretrain } from "../../src/model/Pretrain.ts"
import { TokenizerTrain } from "../../src/model/TokenizerTrain.ts"
import { TokenizerRow } from "../../src/schemas/TokenizerRow.ts"
import { metricRows, modelStageError, runModelStage, tableHash, textTable, toyCorpus } from "./ModelHarness.ts"

const corpus = textTable(toyCorpus(400))
let tokenizer: Table.Table<typeof TokenizerRow>
beforeAll(async () => {
  tokenizer = (await runModelStage(TokenizerTrain, { texts: corpus }, { vocabSize: 300 })).outputs.tokenizer
})

const tiny = { dModel: 32, nLayers: 1, nHeads: 2, contextLength: 32, batchSize: 8, lr: 3e-3, warmupSteps: 5, evalWindows: 16 }

describe("pretrain", () => {
  it("learns a small corpus: held-out loss falls far below its first evaluation, all tensors freed", async () => {
    const before = tf.memory().numTensors
    const t0 = performance.now()
    const { outputs, lineage, progress } = await runModelStage(Pretrain, { corpus, tokenizer }, { ...tiny, steps: 80, evalEvery: 20 })
    const seconds = (performance.now() - t0) / 1000
    expect(tf.memory().numTensors).toBe(before)
    expect(lineage["backend"]).toMatch(/^(native|wasm|cpu|tensorflow) \S+$/)
    expect(Number(lineage["tokensPerSec"])).toBeGreaterThan(0)
    // Progress: steps done of 80, throttled (the first and the last always reported), with loss and throughput.
    expect(progress[0]).toMatchObject({ done: 1, total: 80 })
    expect(progress.at(-1)).toMatchObject({ done: 80, total: 80 })
    expect(progress.length).toBeLessThanOrEqual(2 + Math.ceil(seconds / 0.5))
    expect(progress.at(-1)!.info).toMatch(/^loss \d+\.\d{3} · val \d+\.\d{3} · [\d.]+k? tok\/s$/)

    const train = metricRows(outputs.metrics, "loss", "train")
    const val = metricRows(outputs.metrics, "loss", "val")
    expect(train.map((r) => r.step)).toEqual(Array.from({ length: 80 }, (_, i) => i))
    expect(val.map((r) => r.step)).toEqual([19, 39, 59, 79])
    expect(metricRows(outputs.metrics, "tokensPerSec", "train").every((r) => r.value > 0)).toBe(true)
    const uniform = Math.log(300)
    expect(train[0]!.value).toBeGreaterThan(uniform - 0.5)
    expect(val.at(-1)!.value).toBeLessThan(val[0]!.value - 0.3)
    expect(val.at(-1)!.value).toBeLessThan(uniform / 2)

    // Token counts: the whole stream, 10% of it held out.
    const trainTokens = metricRows(outputs.metrics, "tokens", "train")[0]!.value
    const valTokens = metricRows(outputs.metrics, "tokens", "val")[0]!.value
    expect(valTokens).toBe(Math.ceil((trainTokens + valTokens) * 0.1))
    expect(metricRows(outputs.metrics, "documents")[0]!.value).toBe(400)

    // The weights table: nn's format, config in its metadata.
    const config = JSON.parse(Table.metadata(outputs.weights)["config"]!) as Gpt.Config
    expect(config).toEqual({ vocabSize: 300, dModel: 32, nLayers: 1, nHeads: 2, contextLength: 32 })
    expect(Table.columnValues(outputs.weights, "name")).toEqual(Gpt.paramShapes(config).map(([n]) => n))
    expect(metricRows(outputs.metrics, "parameters")[0]!.value).toBe(Gpt.paramShapes(config).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0))
  })

  it("is deterministic: the same seeds give byte-identical weights; another seed does not", async () => {
    const params = { ...tiny, steps: 6, evalEvery: 3 }
    const a = await runModelStage(Pretrain, { corpus, tokenizer }, params, 11)
    const b = await runModelStage(Pretrain, { corpus, tokenizer }, params, 11)
    const c = await runModelStage(Pretrain, { corpus, tokenizer }, { ...params, seed: 1 }, 11)
    const d = await runModelStage(Pretrain, { corpus, tokenizer }, params, 12)
    expect(tableHash(a.outputs.weights)).toBe(tableHash(b.outputs.weights))
    const losses = (t: Table.Table) => Table.toRows(t).filter((r) => (r as { name: string }).name !== "tokensPerSec")
    expect(losses(a.outputs.metrics)).toEqual(losses(b.outputs.metrics))
    expect(tableHash(c.outputs.weights)).not.toBe(tableHash(a.outputs.weights))
    expect(tableHash(d.outputs.weights)).not.toBe(tableHash(a.outputs.weights))
  })

  it("fails clearly on a corpus too small for a window, a bad head count or a table that is not a tokenizer", async () => {
    const small = await modelStageError(Pretrain, { corpus: textTable(["the cat."]), tokenizer }, tiny)
    expect(small).toBeInstanceOf(ModelError)
    expect(small.message).toMatch(/tokens .*window of 33 tokens.*contextLength/)
    const heads = await modelStageError(Pretrain, { corpus, tokenizer }, { ...tiny, nHeads: 3 })
    expect(heads.message).toMatch(/dModel 32 is not divisible by nHeads 3/)
    const notTokenizer = Table.make(TokenizerRow, [{ id: 0, kind: "special", bytes: new Uint8Array([1]), left: -1, right: -1 }])
    const bad = await modelStageError(Pretrain, { corpus, tokenizer: notTokenizer }, tiny)
    expect(bad.message).toMatch(/input 'tokenizer' of node 'node' is not a tokenizer table.*rlhf-bpe-v1/)
  })

  it("declares isolation and resources: workers CPU slots and a GPU when there is one", () => {
    expect(Pretrain.isolate).toBe(true)
    const params = Schema.decodeUnknownSync(Pretrain.params)({ workers: 3 })
    expect(Stage.resourcesOf(Pretrain, params)).toMatchObject({ cpu: 3, gpu: 1 })
    expect(params).toMatchObject({ dModel: 128, nLayers: 4, nHeads: 4, contextLength: 128 })
  })
})
