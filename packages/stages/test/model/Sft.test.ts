import { Stage, Table } from "@rlhf/core"
import * as Prng from "@rlhf/nn/Prng"
import * as Tokenizer from "@rlhf/nn/Tokenizer"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { generateText } from "../../src/model/GenerateText.ts"
import { ModelError } from "../../src/model/ModelError.ts"
import { Pretrain } from "../../src/model/Pretrain.ts"
import { Sft, splitIndices } from "../../src/model/Sft.ts"
import { TokenizerTrain } from "../../src/model/TokenizerTrain.ts"
import type { TokenizerRow } from "../../src/schemas/TokenizerRow.ts"
import type { WeightsRow } from "../../src/schemas/WeightsRow.ts"
import { metricRows, modelStageError, runModelStage, sftTable, tableHash, textTable, toyCorpus } from "./ModelHarness.ts"

const corpus = textTable(toyCorpus(400))
let tokenizer: Table.Table<typeof TokenizerRow>
let pretrained: Table.Table<typeof WeightsRow>

const model = { dModel: 32, nLayers: 1, nHeads: 2, contextLength: 48 }
beforeAll(async () => {
  tokenizer = (await runModelStage(TokenizerTrain, { texts: corpus }, { vocabSize: 300 })).outputs.tokenizer
  pretrained = (await runModelStage(Pretrain, { corpus, tokenizer }, { ...model, steps: 30, batchSize: 8, lr: 3e-3, warmupSteps: 3, evalWindows: 4 })).outputs.weights
})

// Answers no pretraining text predicts: the model must learn them from the demonstrations.
const pattern = [
  { prompt: "what does the cat see?", response: "a green ship." },
  { prompt: "what does the dog like?", response: "old trees." },
  { prompt: "who follows the king?", response: "the small bird." },
  { prompt: "where is the tree?", response: "by the sea." },
  { prompt: "who likes the ship?", response: "nobody." },
  { prompt: "what is red?", response: "the quiet king." }
]

describe("sft", () => {
  it("learns a tiny pattern from a pretrained init: greedy answers match the demonstrations", async () => {
    const before = tf.memory().numTensors
    const { outputs, lineage } = await runModelStage(Sft, { examples: sftTable(pattern), tokenizer, init: pretrained }, {
      steps: 120, batchSize: 6, lr: 3e-3, warmupSteps: 5, valFraction: 0
    })
    expect(tf.memory().numTensors).toBe(before)
    expect(lineage["backend"]).toMatch(/^(native|wasm|cpu|tensorflow) /)
    const train = metricRows(outputs.metrics, "loss", "train")
    expect(train).toHaveLength(120)
    expect(train.at(-1)!.value).toBeLessThan(train[0]!.value / 5)
    expect(Table.metadata(outputs.weights)["config"]).toBe(Table.metadata(pretrained)["config"])

    const generated = await Effect.runPromise(generateText(outputs.weights, tokenizer, { prompts: pattern.map((p) => p.prompt), greedy: true, maxNewTokens: 16 }))
    expect(generated.outputs.map((o) => o.text)).toEqual(pattern.map((p) => p.response))
    expect(generated.outputs.every((o) => o.finished)).toBe(true)
    // The pretrained model alone does not know them.
    const base = await Effect.runPromise(generateText(pretrained, tokenizer, { prompts: pattern.map((p) => p.prompt), greedy: true, maxNewTokens: 16 }))
    expect(base.outputs.filter((o, i) => o.text === pattern[i]!.response)).toHaveLength(0)
    expect(tf.memory().numTensors).toBe(before)
  })

  it("holds out examples for a validation loss and counts truncations by the template's policy", async () => {
    const long = "the old king follows the green bird. ".repeat(6) // far over the 48-token context
    const examples = [
      ...pattern, // 6 that fit
      { prompt: [{ role: "user", content: long }, { role: "assistant", content: long }, { role: "user", content: long }], response: "yes." },
      { prompt: [{ role: "system", content: "be brief." }, { role: "user", content: long }], response: "no." },
      { prompt: "tell me a story.", response: long },
      { prompt: "and another.", response: long }
    ]
    const { outputs } = await runModelStage(Sft, { examples: sftTable(examples), tokenizer, init: pretrained }, {
      steps: 4, batchSize: 4, valFraction: 0.2, evalEvery: 2
    })
    const m = (name: string, group?: string | null) => metricRows(outputs.metrics, name, group).map((r) => r.value)
    expect(m("examples", "train")).toEqual([8])
    expect(m("examples", "val")).toEqual([2])
    expect(metricRows(outputs.metrics, "loss", "val").map((r) => r.step)).toEqual([1, 3])
    // Prompt cut from the left (the 3-turn prompt loses its 2 oldest turns, the system turn is dropped), responses from the right.
    expect(m("truncatedPrompts")).toEqual([2])
    expect(m("droppedTurns")).toEqual([3])
    expect(m("truncatedResponses")).toEqual([2])
  })

  it("is deterministic: the same seeds give byte-identical weights", async () => {
    const run = () => runModelStage(Sft, { examples: sftTable(pattern), tokenizer, init: pretrained }, { steps: 3, batchSize: 2 }, 5)
    const [a, b] = [await run(), await run()]
    expect(tableHash(a.outputs.weights)).toBe(tableHash(b.outputs.weights))
    expect(tableHash(a.outputs.weights)).not.toBe(tableHash(pretrained))
  })

  it("fails clearly when init was trained with another tokenizer, or a prompt has an unknown role", async () => {
    const other = (await runModelStage(TokenizerTrain, { texts: corpus }, { vocabSize: 280 })).outputs.tokenizer
    const error = await modelStageError(Sft, { examples: sftTable(pattern), tokenizer: other, init: pretrained }, { steps: 1 })
    expect(error).toBeInstanceOf(ModelError)
    expect(error.message).toMatch(/init weights were trained with a vocabulary of 300 tokens but the tokenizer has 280.*same tokenizer-train output/)
    const role = await modelStageError(Sft, { examples: sftTable([{ prompt: [{ role: "robot", content: "hi" }], response: "x" }]), tokenizer, init: pretrained }, { steps: 1 })
    expect(role.message).toMatch(/row 0: prompt\[0\]\.role is "robot".*user, assistant, system/)
    const notWeights = await modelStageError(Sft, { examples: sftTable(pattern), tokenizer, init: Table.withMetadata(pretrained, { format: "x" }) }, { steps: 1 })
    expect(notWeights.message).toMatch(/format.*rlhf-gpt-weights-v1.*pretrain or sft/)
  })

  it("splits held-out examples by seed, at least one on each side", () => {
    const a = splitIndices(10, 0.2, 1, Prng)
    expect(a.val).toHaveLength(2)
    expect([...a.train, ...a.val].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i))
    expect(splitIndices(10, 0.2, 1, Prng)).toEqual(a)
    expect(splitIndices(10, 0.2, 2, Prng).val).not.toEqual(a.val)
    expect(splitIndices(2, 0.01, 1, Prng).val).toHaveLength(1)
    expect(splitIndices(1, 0.5, 1, Prng).val).toHaveLength(0)
    expect(splitIndices(5, 0, 1, Prng).val).toHaveLength(0)
  })

  it("reads its model config from init and declares isolation and resources", () => {
    expect(Sft.isolate).toBe(true)
    const params = Schema.decodeUnknownSync(Sft.params)({})
    expect(params).not.toHaveProperty("dModel")
    expect(Stage.resourcesOf(Sft, params)).toMatchObject({ cpu: 1, gpu: 1 })
  })
})

describe("generateText", () => {
  it("continues plain text within the context, seeded, and rejects a tokenizer of another vocabulary", async () => {
    const opts = { prompts: ["the red cat", "", "the old king follows the green bird. ".repeat(8)], raw: true, maxNewTokens: 12, seed: 3, temperature: 0.8 }
    const a = await Effect.runPromise(generateText(pretrained, tokenizer, opts))
    const b = await Effect.runPromise(generateText(pretrained, tokenizer, opts))
    expect(a.outputs).toEqual(b.outputs)
    expect(a.backend).toMatch(/^(native|wasm|cpu|tensorflow) /)
    for (const o of a.outputs) expect(o.tokens).toBeLessThanOrEqual(12)
    expect(a.outputs[0]!.prompt).toBe("the red cat")
    // A long text keeps its end, leaving room for the new tokens in the 48-token context.
    expect(a.outputs[2]!.prompt.endsWith("green bird. ")).toBe(true)
    const tok = Tokenizer.tokenizerFromTable(tokenizer.arrow)
    const kept = tok.encode(a.outputs[2]!.prompt, { allowSpecial: false }).length
    expect(kept).toBeLessThanOrEqual(48 - 12)
    expect(kept).toBeGreaterThan(30)
    const other = (await runModelStage(TokenizerTrain, { texts: corpus }, { vocabSize: 280 })).outputs.tokenizer
    const exit = await Effect.runPromiseExit(generateText(pretrained, other, { prompts: ["hi"] }))
    expect(String(exit)).toMatch(/vocabulary of 300 tokens but the tokenizer has 280/)
  })
})

