import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import * as Generate from "../src/Generate.ts"
import * as Gpt from "../src/Gpt.ts"
import * as LogProbs from "../src/LogProbs.ts"
import * as Prng from "../src/Prng.ts"
import { availableBackends, maxAbsDiff, useBackend } from "./backends.ts"
import { randomizeWeights } from "./RandomWeights.ts"

const config: Gpt.Config = { vocabSize: 32, dModel: 16, nLayers: 2, nHeads: 2, contextLength: 24 }

// Random weights with some scale so that sampling is not near-uniform.
const model = (seed: number) => randomizeWeights(Gpt.init(config, { seed }), seed + 100, 0.4)

describe.each(availableBackends)("generation on %s", (backend) => {
  useBackend(backend)

  it("KV-cached decoding gives the full forward pass's logits (to 1e-4), with left padding", () => {
    const m = model(1)
    const rows = [[0, 0, 7, 8, 9], [5, 6, 7, 8, 9]]
    const mask = [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]
    const next = [[11, 12, 13], [14, 15, 16]] // three decode steps
    const full = tf.tidy(() => {
      const ids = tf.tensor2d(rows.map((r, i) => [...r, ...next[i]!]), [2, 8], "int32")
      return Gpt.logits(m, ids, tf.tensor2d(mask.map((r) => [...r, 1, 1, 1]))).arraySync()
    })
    let { hidden, present } = Gpt.forward(m, tf.tensor2d(rows, [2, 5], "int32"), { mask: tf.tensor2d(mask) })
    const prefill = tf.tidy(() => Gpt.lmLogits(m, hidden).arraySync())
    for (let t = 0; t < 5; t++) for (let b = 0; b < 2; b++) if (mask[b]![t]) expect(maxAbsDiff(prefill[b]![t]!, full[b]![t]!)).toBeLessThan(1e-4)
    for (let s = 0; s < 3; s++) {
      const stepMask = tf.tensor2d(mask.map((r) => [...r, ...Array(s + 1).fill(1)]))
      const out = Gpt.forward(m, tf.tensor2d([[next[0]![s]!], [next[1]![s]!]], [2, 1], "int32"), { mask: stepMask, past: present })
      const step = tf.tidy(() => Gpt.lmLogits(m, out.hidden).arraySync())
      for (let b = 0; b < 2; b++) expect(maxAbsDiff(step[b]![0]!, full[b]![5 + s]!)).toBeLessThan(1e-4)
      hidden.dispose(), tf.dispose([...present.k, ...present.v])
      ;({ hidden, present } = out)
    }
    Gpt.dispose(m)
  })

  it("same seed gives the same tokens, another seed other tokens; greedy is deterministic", () => {
    const m = model(2)
    const prompts = [Int32Array.of(5, 6, 7), Int32Array.of(9), Int32Array.of(3, 3)]
    const opts = { maxNewTokens: 12, temperature: 1, stopToken: -1 }
    const a = Generate.generate(m, prompts, { ...opts, seed: 1 })
    tf.randomNormal([10], 0, 1, "float32", 5).dispose() // global RNG use must not matter
    const b = Generate.generate(m, prompts, { ...opts, seed: 1 })
    const c = Generate.generate(m, prompts, { ...opts, seed: 2 })
    expect(a.tokens.map((t) => Array.from(t))).toEqual(b.tokens.map((t) => Array.from(t)))
    expect(a.tokens.map((t) => Array.from(t))).not.toEqual(c.tokens.map((t) => Array.from(t)))
    expect(a.tokens.every((t) => t.length === 12)).toBe(true)
    const g1 = Generate.generate(m, prompts, { maxNewTokens: 8, greedy: true, seed: 1 })
    const g2 = Generate.generate(m, prompts, { maxNewTokens: 8, greedy: true, seed: 2 })
    expect(g1.tokens.map((t) => Array.from(t))).toEqual(g2.tokens.map((t) => Array.from(t)))
    Gpt.dispose(m)
  })

  it("greedy tokens are the argmax of the full forward pass, row by row, and stop at <|endoftext|>", () => {
    const m = model(3)
    const prompts = [Int32Array.of(4, 5, 6, 7), Int32Array.of(8, 9)]
    const g = Generate.generate(m, prompts, { maxNewTokens: 6, greedy: true })
    prompts.forEach((p, i) => {
      const seq = [...p]
      for (const tok of g.tokens[i]!) {
        const logits = tf.tidy(() => Gpt.logits(m, tf.tensor2d([seq], [1, seq.length], "int32")).arraySync()[0]![seq.length - 1]!)
        expect(tok).toBe(logits.indexOf(Math.max(...logits)))
        seq.push(tok)
      }
    })
    // Stop at a token row 0 emits third: row 0 ends right there; each row stops at its first occurrence.
    const stop = g.tokens[0]![2]!
    const stopped = Generate.generate(m, prompts, { maxNewTokens: 6, greedy: true, stopToken: stop })
    g.tokens.forEach((full, i) => {
      const at = full.indexOf(stop)
      expect(stopped.finished[i]).toBe(at >= 0)
      expect(Array.from(stopped.tokens[i]!)).toEqual(Array.from(at >= 0 ? full.slice(0, at + 1) : full))
    })
    expect(stopped.tokens[0]!.length).toBeLessThanOrEqual(3)
    Gpt.dispose(m)
  })

  it("log-probs match the full forward pass, batched or not, with entropy", () => {
    const m = model(4)
    const prompts = [Int32Array.of(3, 4, 5), Int32Array.of(6)]
    const responses = [Int32Array.of(7, 8), Int32Array.of(9, 10, 11, 0)]
    const batched = LogProbs.responseLogProbs(m, prompts, responses)
    const single = LogProbs.responseLogProbs(m, prompts, responses, { batchSize: 1 })
    prompts.forEach((p, i) => {
      const seq = [...p, ...responses[i]!]
      const logits = tf.tidy(() => Gpt.logits(m, tf.tensor2d([seq], [1, seq.length], "int32")).arraySync()[0]!)
      const expected = Array.from(responses[i]!, (tok, j) => {
        const row = logits[p.length + j - 1]!
        const max = Math.max(...row), lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0))
        return row[tok]! - lse
      })
      expect(maxAbsDiff(batched.logProbs[i]!, expected)).toBeLessThan(1e-4)
      expect(maxAbsDiff(single.logProbs[i]!, expected)).toBeLessThan(1e-4)
      expect(batched.entropy[i]!.length).toBe(responses[i]!.length)
      for (const h of batched.entropy[i]!) expect(h).toBeGreaterThan(0), expect(h).toBeLessThanOrEqual(Math.log(config.vocabSize) + 1e-4)
    })
    Gpt.dispose(m)
  })
})

describe("sampling", () => {
  const logits = Float32Array.of(1, 3, 2, 0, 2.5)
  it("respects top-k and top-p and temperature", () => {
    const rng = Prng.make(9)
    const draw = (o: Generate.SamplingOptions) => new Set(Array.from({ length: 400 }, () => Generate.sampleToken(logits, rng, o)))
    expect([...draw({ topK: 2 })].sort()).toEqual([1, 4])
    expect([...draw({ topP: 0.01 })]).toEqual([1])
    expect(draw({ temperature: 1 }).size).toBe(5)
    expect([...draw({ temperature: 1e-4 })]).toEqual([1])
    expect(Generate.sampleToken(logits, rng, { greedy: true })).toBe(1)
  })
})
