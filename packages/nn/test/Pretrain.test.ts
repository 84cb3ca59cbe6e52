/**
 * End-to-end learning checks (a few minutes of CPU at most): a tiny byte-level GPT pretrained on
 * tinyshakespeare beats a count-based bigram on held-out text, and SFT from it learns a
 * synthetic instruction ("reverse: abcd" -> "dcba") well enough to answer unseen prompts.
 */
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import * as ChatTemplate from "../src/ChatTemplate.ts"
import * as Generate from "../src/Generate.ts"
import * as Gpt from "../src/Gpt.ts"
import * as Prng from "../src/Prng.ts"
import * as Tokenizer from "../src/Tokenizer.ts"
import * as Train from "../src/Train.ts"
import { availableBackends } from "./backends.ts"
import { readSharedText } from "./data.ts"

// The fastest backend loaded (cpu would take ~15x longer; it is used only if nothing else loads).
const backend = ["native", "wasm", "cpu"].find((b) => availableBackends.includes(b))!
const tok = Tokenizer.byteLevel()
const config: Gpt.Config = { vocabSize: tok.vocabSize, dModel: 64, nLayers: 2, nHeads: 4, contextLength: 32 }

/** Held-out mean NLL of an add-k bigram over the same targets evalLmLoss scores; best k of a few (a strong baseline). */
const bigramLoss = (train: Int32Array, val: Int32Array, v: number, t: number): { loss: number; k: number } => {
  const counts = new Float64Array(v * v), rows = new Float64Array(v)
  for (let i = 0; i + 1 < train.length; i++) counts[train[i]! * v + train[i + 1]!]! += 1, (rows[train[i]!]! += 1)
  const windows = Math.floor((val.length - 1) / t)
  const score = (k: number) => {
    let nll = 0
    for (let i = 0; i < windows * t; i++) nll -= Math.log((counts[val[i]! * v + val[i + 1]!]! + k) / (rows[val[i]!]! + k * v))
    return nll / (windows * t)
  }
  return [0.01, 0.03, 0.1, 0.3, 1].map((k) => ({ loss: score(k), k })).reduce((a, b) => (b.loss < a.loss ? b : a))
}

describe(`learning on ${backend}`, () => {
  let pretrained: Gpt.Model | undefined
  beforeAll(async () => void (await tf.setBackend(backend)))

  it("pretraining beats a count-based bigram on held-out text", () => {
    const text = readSharedText("pretrain/tinyshakespeare.txt")
    const split = Math.floor(text.length * 0.9)
    const train = tok.encode(text.slice(0, split), { allowSpecial: false }), val = tok.encode(text.slice(split), { allowSpecial: false })
    const bigram = bigramLoss(train, val, tok.vocabSize, config.contextLength)
    const t0 = performance.now()
    const { model, metrics } = Train.pretrainLm(train, config, { steps: 300, batchSize: 32, lr: 3e-3, seed: 1 })
    const seconds = (performance.now() - t0) / 1000
    const valLoss = Train.evalLmLoss(model, val, { batchSize: 64 })
    const meanTps = metrics.reduce((s, m) => s + m.tokensPerSec, 0) / metrics.length
    console.log(`pretrain ${backend}: 300 steps x 1024 tokens in ${seconds.toFixed(0)} s (${meanTps.toFixed(0)} tok/s); ` +
      `train loss ${metrics[0]!.loss.toFixed(3)} -> ${metrics.at(-1)!.loss.toFixed(3)}; held-out ${valLoss.toFixed(3)} vs bigram ${bigram.loss.toFixed(3)} (k=${bigram.k})`)
    expect(metrics[0]!.loss).toBeGreaterThan(4.5) // ~ln(261) at init: the drop below is learned
    expect(valLoss).toBeLessThan(bigram.loss - 0.05)
    pretrained = model
  }, 900_000)

  it("SFT from the pretrained model answers held-out prompts of the trained pattern", () => {
    const init = pretrained ?? Gpt.init(config, { seed: 1 }) // still meaningful if pretraining failed above
    const rng = Prng.make(42)
    const word = () => Array.from({ length: 4 }, () => "abcdefghij"[rng.int(10)]).join("")
    const words = [...new Set(Array.from({ length: 400 }, word))]
    const trainWords = words.slice(0, 200), heldOut = words.slice(200, 230)
    const example = (w: string) => ({ turns: [{ role: "user" as const, content: `reverse: ${w}` }], response: [...w].reverse().join("") })
    const { examples, truncation } = ChatTemplate.formatExamples(tok, trainWords.map(example), config.contextLength)
    expect(truncation).toEqual({ prompts: 0, responses: 0, droppedTurns: 0 })
    const { model, metrics } = Train.sftLm(examples, init, { steps: 200, batchSize: 32, lr: 3e-3, seed: 2 })
    const prompts = heldOut.map((w) => ChatTemplate.formatPrompt(tok, example(w).turns).ids)
    const answers = Generate.generate(model, prompts, { maxNewTokens: 6, greedy: true })
    const correct = answers.tokens.filter((t, i) => tok.decode(t) === `${example(heldOut[i]!).response}<|endoftext|>`).length
    console.log(`sft ${backend}: loss ${metrics[0]!.loss.toFixed(3)} -> ${metrics.at(-1)!.loss.toFixed(3)}; held-out correct ${correct}/${heldOut.length}`)
    expect(correct / heldOut.length).toBeGreaterThanOrEqual(0.7)
    Gpt.dispose(model)
    if (pretrained) Gpt.dispose(pretrained)
  }, 600_000)
})
