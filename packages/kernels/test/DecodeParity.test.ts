import * as tf from "@tensorflow/tfjs-core"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
// The nn package's generation (relative import: nn is not a dependency of kernels).
import * as Decoder from "../../nn/src/Decoder.ts"
import * as Generate from "../../nn/src/Generate.ts"
import * as Gpt from "../../nn/src/Gpt.ts"
import * as Prng from "../../nn/src/Prng.ts"
import * as Sampling from "../../nn/src/Sampling.ts"
import { randomizeWeights } from "../../nn/test/RandomWeights.ts"
import { loadAddon } from "../src/Addon.ts"
import { GptDecoder, poolStats } from "../src/index.ts"
import { ensureNative } from "./compare.ts"

// Logits of the fused native decode step vs the tfjs forward pass on the plain cpu backend:
// |native - cpu| <= TOL * (1 + |cpu|) per logit (float32 sums in another order; 4 layers; the
// worst seen here is 2.5e-6).
const TOL = 2e-5

beforeAll(ensureNative)
tf.env().set("PROD", true) // no "install tfjs-node" banner in test output
afterEach(() => tf.setBackend("cpu"))

const config: Gpt.Config = { vocabSize: 61, dModel: 32, nLayers: 4, nHeads: 4, contextLength: 40 }

// Random weights with some scale so that logits spread over several units and sampling is not near-uniform.
const model = (seed: number): Gpt.Model => randomizeWeights(Gpt.init(config, { seed }), seed + 100, 0.3)

// Left-padded prompts of lengths 5, 1, 3 and 5 (ids >= 5), and per step which rows stay alive.
const prompts = [[7, 8, 9, 10, 11], [12], [13, 14, 15], [20, 21, 22, 23, 24]]
const P = 5
const alive = (step: number, row: number): number => (row === 1 && step >= 2) || (row === 3 && step >= 4) ? 0 : 1

/** Every step's logits [B * V] when decoding fixed tokens with the decoder that `open` gives on `backend`. */
const decodeAll = async (backend: string, m: Gpt.Model, open: () => Decoder.Decoder, steps: number) => {
  await tf.setBackend(backend)
  const decoder = open()
  const mask = prompts.map((p) => [...Array(P - p.length).fill(0), ...p.map(() => 1)])
  let ids = Int32Array.from(prompts.flatMap((p) => [...Array(P - p.length).fill(0), ...p]))
  const logits: Float32Array[] = []
  for (let s = 0; s < steps; s++) {
    logits.push(decoder.step(ids, s === 0 ? P : 1, mask).slice())
    ids = Int32Array.from(prompts, (_, b) => 5 + ((7 * s + 3 * b) % (config.vocabSize - 5)))
    mask.forEach((row, b) => row.push(alive(s, b)))
  }
  decoder.dispose()
  return { kind: decoder.kind, logits }
}

describe("native fused decoding vs the tfjs path on the cpu backend", () => {
  it(`gives the same logits at every step (to ${TOL} relative), with left padding and finished rows`, async () => {
    const m = model(1)
    const steps = 12
    const cpu = await decodeAll("cpu", m, () => Decoder.openTfjs(m, prompts.length), steps)
    const native = await decodeAll("native", m, () => Decoder.open(m, prompts.length, P + steps), steps)
    expect(native.kind).toBe("native")
    let worst = 0, spread = 0
    cpu.logits.forEach((c, s) => {
      const n = native.logits[s]!
      for (let i = 0; i < c.length; i++) {
        worst = Math.max(worst, Math.abs(n[i]! - c[i]!) / (1 + Math.abs(c[i]!)))
        spread = Math.max(spread, Math.abs(c[i]!))
      }
    })
    expect(worst).toBeLessThan(TOL)
    expect(spread).toBeGreaterThan(3) // logits large enough for the comparison to mean something
    Gpt.dispose(m)
  })

  it("generates the same tokens as the cpu backend: sampled (seeded, top-k / top-p), greedy, with stop tokens", async () => {
    const m = model(2)
    const ps = prompts.map((p) => Int32Array.from(p))
    const runs: Array<[string, Generate.GenerateOptions]> = [
      ["sampled", { maxNewTokens: 30, seed: 3, stopToken: -1 }],
      ["top-k / top-p", { maxNewTokens: 30, seed: 4, topK: 10, topP: 0.9, temperature: 0.8, stopToken: -1 }],
      ["greedy", { maxNewTokens: 30, greedy: true, stopToken: -1 }],
      ["stop token", { maxNewTokens: 30, seed: 5, stopToken: 9 }]
    ]
    for (const [label, o] of runs) {
      await tf.setBackend("cpu")
      const cpu = Generate.generate(m, ps, o)
      await tf.setBackend("native")
      const native = Generate.generate(m, ps, o)
      expect(native.tokens.map((t) => Array.from(t)), label).toEqual(cpu.tokens.map((t) => Array.from(t)))
      expect(native.finished, label).toEqual(cpu.finished)
    }
    // The stop-token run really stopped some rows early (finished rows keep feeding padding).
    const stopped = Generate.generate(m, ps, runs[3]![1])
    expect(stopped.finished.some(Boolean)).toBe(true)
    expect(stopped.tokens.some((t) => t.length < 30)).toBe(true)
    Gpt.dispose(m)
  })

  it("reuses its cache buffers from the pool across generations and leaks no tensors", async () => {
    const m = model(3)
    await tf.setBackend("native")
    const ps = prompts.map((p) => Int32Array.from(p))
    Generate.generate(m, ps, { maxNewTokens: 20, seed: 1 })
    const tensors = tf.memory().numTensors
    const before = poolStats()!
    for (let i = 0; i < 3; i++) Generate.generate(m, ps, { maxNewTokens: 20, seed: 1 })
    const after = poolStats()!
    expect(after.misses).toBe(before.misses) // no fresh allocations
    expect(after.hits - before.hits).toBe(6) // keys and values, three times
    expect(tf.memory().numTensors).toBe(tensors)
    Gpt.dispose(m)
  })

  it("falls back to the tfjs path off the native backend and with RLHF_KERNELS_DECODE=0", async () => {
    const m = model(4)
    await tf.setBackend("cpu")
    expect(Decoder.open(m, 2, 8).kind).toBe("tfjs")
    await tf.setBackend("native")
    process.env["RLHF_KERNELS_DECODE"] = "0"
    try {
      expect(Decoder.open(m, 2, 8).kind).toBe("tfjs")
    } finally {
      delete process.env["RLHF_KERNELS_DECODE"]
    }
    const d = Decoder.open(m, 2, 8)
    expect(d.kind).toBe("native")
    d.dispose()
    Gpt.dispose(m)
  })
})

describe("rankDescending", () => {
  it("ranks every row exactly as nn's sampling does in JavaScript (ties, -0, infinities, NaN)", () => {
    const rng = Prng.make(21)
    const cols = 300, rows = 5
    const x = Float32Array.from({ length: rows * cols }, (_, i) => {
      const v = i < cols ? 1 + rng.next() : rng.normal() * 4 // row 0 in [1, 2): one sign and exponent, so the top digit's pass is skipped
      return i >= 2 * cols && i < 3 * cols ? Math.round(v) : v // row 2: many exact ties
    })
    x.set([-0, 0, Infinity, -Infinity, NaN, 3e38, -3e38, 1e-45, -1e-45], 3 * cols)
    x.fill(1.5, 4 * cols) // row 4: all equal
    const order = new Int32Array(rows * cols)
    loadAddon().addon!.rankDescending(x, rows, cols, order)
    for (let r = 0; r < rows; r++) {
      expect(Array.from(order.subarray(r * cols, (r + 1) * cols)), `row ${r}`).toEqual(Array.from(Sampling.rankDescending(x.subarray(r * cols, (r + 1) * cols))))
    }
    expect(Array.from(order.subarray(4 * cols, 4 * cols + 3))).toEqual([0, 1, 2])
    expect(() => loadAddon().addon!.rankDescending(x, rows, cols + 1, order)).toThrow(/too short/)
  })
})

describe("gptForward argument checks", () => {
  it("rejects a wrong weight list, ids outside the vocabulary and a full cache without touching memory", async () => {
    await tf.setBackend("native")
    const m = model(5)
    expect(() => GptDecoder.open([...m.params.values()].slice(0, 4), config, 1, 4)).toThrow(/expected 52 weight tensors/)
    expect(() => GptDecoder.open([...m.params.values()], config, 1, config.contextLength + 1)).toThrow(/capacity 41/)
    const addon = loadAddon().addon!
    const dims = [config.vocabSize, config.dModel, config.nLayers, config.nHeads, config.contextLength]
    const d = config.dModel, cap = 4
    const cache = () => new Float32Array(config.nLayers * config.nHeads * cap * (d / config.nHeads))
    const weights = () => {
      const names = ["wte", "wpe", "ln_f.gamma", "ln_f.beta"]
      for (let l = 0; l < config.nLayers; l++) {
        for (const n of ["ln1.gamma", "ln1.beta", "attn.w_qkv", "attn.b_qkv", "attn.w_proj", "attn.b_proj", "ln2.gamma", "ln2.beta", "mlp.w_fc", "mlp.b_fc", "mlp.w_proj", "mlp.b_proj"]) names.push(`h.${l}.${n}`)
      }
      return names.map((n) => new Float32Array(m.params.get(n)!.size))
    }
    const call = (w: Float32Array[], ids: Int32Array, past: number, t = 1) =>
      addon.gptForward(w, dims, cache(), cache(), cap, ids, new Int32Array(t), new Float32Array(cap).fill(1), 1, t, past, new Float32Array(config.vocabSize))
    expect(() => call(weights(), Int32Array.of(1), 0)).not.toThrow()
    expect(() => call(weights().slice(1), Int32Array.of(1), 0)).toThrow(/expected 52 weights/)
    const short = weights()
    short[6] = new Float32Array(5)
    expect(() => call(short, Int32Array.of(1), 0)).toThrow(/h\.0\.attn\.w_qkv\) has 5 elements, expected 3072/)
    expect(() => call(weights(), Int32Array.of(config.vocabSize), 0)).toThrow(/token id 61 at 0/)
    expect(() => call(weights(), Int32Array.of(1, 2), 3, 2)).toThrow(/exceeds the cache capacity 4/)
    Gpt.dispose(m)
  })
})
