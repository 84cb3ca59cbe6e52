import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import * as Gpt from "../src/Gpt.ts"
import * as Prng from "../src/Prng.ts"
import * as Train from "../src/Train.ts"
import { availableBackends, maxAbsDiff, useBackend } from "./backends.ts"
import { randomizeWeights } from "./RandomWeights.ts"

const tiny: Gpt.Config = { vocabSize: 16, dModel: 8, nLayers: 2, nHeads: 2, contextLength: 8 }

// Larger-than-init random weights so attention and GELU are far from linear.
const randomize = (model: Gpt.Model, seed: number) => randomizeWeights(model, seed, 0.3)

const ids2d = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0]!.length], "int32")
const logitsOf = (m: Gpt.Model, rows: number[][], mask?: number[][]) =>
  tf.tidy(() => Gpt.logits(m, ids2d(rows), mask ? tf.tensor2d(mask) : undefined).arraySync())

describe.each(availableBackends)("Gpt on %s", (backend) => {
  useBackend(backend)

  it("analytic gradients match central finite differences (float32, eps 1e-2, rel. error < 1e-2)", () => {
    const model = Gpt.init(tiny, { seed: 1, head: "value" })
    randomize(model, 2)
    const rng = Prng.make(3)
    const ids = tf.tensor2d(Int32Array.from({ length: 12 }, () => rng.int(16)), [2, 6], "int32")
    const targets = tf.tensor2d(Int32Array.from({ length: 12 }, () => rng.int(16)), [2, 6], "int32")
    const mask = tf.tensor2d([[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]) // left padding exercised too
    // LM loss plus a value-head term, so every parameter (incl. value_head.*) gets a gradient.
    const loss = () =>
      tf.tidy(() => {
        const { hidden } = Gpt.forward(model, ids, { mask })
        const lm = Train.lmLoss(Gpt.lmLogits(model, hidden), targets, mask)
        return tf.add(lm, tf.mean(tf.square(Gpt.scalarHead(model, hidden)))) as tf.Scalar
      })
    const lossAt = () => tf.tidy(() => loss().dataSync()[0]!)
    const { grads } = tf.variableGrads(loss, [...model.params.values()])
    const eps = 1e-2
    const errors: Record<string, number> = {}
    // Along each tensor's own gradient direction the directional derivative must equal its norm.
    for (const [name, v] of model.params) {
      const g = grads[v.name]!
      const norm = tf.tidy(() => tf.norm(g).dataSync()[0]!)
      const orig = v.clone()
      tf.tidy(() => v.assign(tf.add(orig, tf.mul(g, eps / norm))))
      const plus = lossAt()
      tf.tidy(() => v.assign(tf.sub(orig, tf.mul(g, eps / norm))))
      const minus = lossAt()
      v.assign(orig), orig.dispose()
      errors[name] = Math.abs((plus - minus) / (2 * eps) - norm) / norm
    }
    expect(Object.keys(errors).length).toBe(Gpt.paramShapes(tiny, "value").length)
    expect(Math.max(...Object.values(errors))).toBeLessThan(1e-2)
    // And along one random direction over all parameters at once.
    const dirs = new Map([...model.params].map(([n, v]) => [n, tf.randomNormal(v.shape, 0, 1, "float32", 7)]))
    const dirNorm = Math.sqrt([...dirs.values()].reduce((s, d) => s + tf.tidy(() => tf.sum(tf.square(d)).dataSync()[0]!), 0))
    const analytic = [...model.params].reduce((s, [n, v]) => s + tf.tidy(() => tf.sum(tf.mul(grads[v.name]!, dirs.get(n)!)).dataSync()[0]!), 0) / dirNorm
    const origs = new Map([...model.params].map(([n, v]) => [n, v.clone()]))
    const shift = (sign: number) => { for (const [n, v] of model.params) tf.tidy(() => v.assign(tf.add(origs.get(n)!, tf.mul(dirs.get(n)!, (sign * eps) / dirNorm)))) }
    shift(1); const plus = lossAt(); shift(-1); const minus = lossAt()
    const gradNorm = Math.sqrt([...model.params.values()].reduce((s, v) => s + tf.tidy(() => tf.sum(tf.square(grads[v.name]!)).dataSync()[0]!), 0))
    expect(Math.abs((plus - minus) / (2 * eps) - analytic) / gradNorm).toBeLessThan(1e-2)
    tf.dispose([...dirs.values(), ...origs.values(), ...Object.values(grads), ids, targets, mask])
    Gpt.dispose(model)
  })

  it("is causal: changing a later token leaves earlier logits unchanged", () => {
    const model = Gpt.init(tiny, { seed: 4 })
    randomize(model, 5)
    const a = logitsOf(model, [[1, 2, 3, 4, 5, 6]])[0]!
    const b = logitsOf(model, [[1, 2, 3, 9, 9, 9]])[0]!
    for (let t = 0; t < 3; t++) expect(maxAbsDiff(a[t]!, b[t]!)).toBeLessThan(1e-5)
    expect(maxAbsDiff(a[3]!, b[3]!)).toBeGreaterThan(1e-3) // the changed position does change
    Gpt.dispose(model)
  })

  it("left padding with a mask leaves each sequence's logits unchanged", () => {
    const model = Gpt.init(tiny, { seed: 6 })
    randomize(model, 7)
    const short = [3, 1, 4], long = [2, 7, 1, 8, 2, 8]
    const alone = [logitsOf(model, [short])[0]!, logitsOf(model, [long])[0]!]
    const batched = logitsOf(model, [[0, 0, 0, ...short], long], [[0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    for (let t = 0; t < 3; t++) expect(maxAbsDiff(batched[0]![3 + t]!, alone[0]![t]!)).toBeLessThan(1e-4)
    for (let t = 0; t < 6; t++) expect(maxAbsDiff(batched[1]![t]!, alone[1]![t]!)).toBeLessThan(1e-4)
    // Without the mask the padded row differs: the mask is doing the work.
    const unmasked = logitsOf(model, [[0, 0, 0, ...short]])[0]!
    expect(maxAbsDiff(unmasked[5]!, alone[0]![2]!)).toBeGreaterThan(1e-3)
    Gpt.dispose(model)
  })

  it("initialises deterministically from the seed and copies matching weights into new heads", () => {
    const a = Gpt.init(tiny, { seed: 11 }), b = Gpt.init(tiny, { seed: 11 }), c = Gpt.init(tiny, { seed: 12 })
    const values = (m: Gpt.Model, n: string) => m.params.get(n)!.dataSync()
    expect(maxAbsDiff(values(a, "h.1.mlp.w_fc"), values(b, "h.1.mlp.w_fc"))).toBe(0)
    expect(maxAbsDiff(values(a, "h.1.mlp.w_fc"), values(c, "h.1.mlp.w_fc"))).toBeGreaterThan(0)
    randomize(a, 13)
    const rm = Gpt.initFrom(a, { head: "reward", seed: 1 })
    const critic = Gpt.initFrom(rm, { head: "value", seed: 2 })
    expect(maxAbsDiff(values(critic, "wte"), values(a, "wte"))).toBe(0)
    expect(maxAbsDiff(values(critic, "h.0.attn.w_qkv"), values(a, "h.0.attn.w_qkv"))).toBe(0)
    expect(critic.params.has("reward_head.w")).toBe(false)
    expect(maxAbsDiff(values(rm, "reward_head.w"), values(Gpt.init(tiny, { head: "reward", seed: 1 }), "reward_head.w"))).toBe(0) // fresh
    expect(Gpt.parameterCount(critic)).toBe(Gpt.parameterCount(a) + tiny.dModel + 1)
    ;[a, b, c, rm, critic].forEach(Gpt.dispose)
  })

  it("reads scalar heads per position and the reward at each row's last index", () => {
    const rm = Gpt.init(tiny, { seed: 21, head: "reward" })
    randomize(rm, 22)
    const ids = ids2d([[1, 2, 3, 4], [5, 6, 7, 8]])
    const [values, rewards] = tf.tidy(() => {
      const h = Gpt.forward(rm, ids).hidden
      return [Gpt.scalarHead(rm, h).arraySync(), Gpt.rewardAt(rm, h, tf.tensor1d([3, 1], "int32")).arraySync()]
    })
    expect(values.length).toBe(2)
    expect(values[0]!.length).toBe(4)
    expect(rewards[0]).toBeCloseTo(values[0]![3]!, 5)
    expect(rewards[1]).toBeCloseTo(values[1]![1]!, 5)
    expect(() => tf.tidy(() => Gpt.scalarHead(Gpt.init(tiny), Gpt.forward(rm, ids).hidden))).toThrow(/no scalar head/)
    expect(() => logitsOf(rm, [[1, 2, 3, 4, 5, 6, 7, 8, 9]])).toThrow(/contextLength/)
    ids.dispose()
    Gpt.dispose(rm)
  })
})
