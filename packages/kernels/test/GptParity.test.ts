import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
// The nn package's model (relative import: nn is not a dependency of kernels).
import * as Gpt from "../../nn/src/Gpt.ts"
import * as Train from "../../nn/src/Train.ts"
import { pathCounts } from "../src/index.ts"
import { ensureNative, ints, on, relErr } from "./compare.ts"

// Whole-model tolerances: logits after 2 layers, gradients of a mean loss.
const TOL_LOGITS = 1e-4
const TOL_GRADS = 5e-4

beforeAll(ensureNative)

describe("tiny GPT on cpu (composite ops) vs native (fused kernels)", () => {
  it("agrees on logits, loss and every parameter gradient", async () => {
    await tf.setBackend("cpu")
    const config = { vocabSize: 48, dModel: 32, nLayers: 2, nHeads: 4, contextLength: 16 }
    const model = Gpt.init(config, { seed: 3 })
    const ids = ints(2 * 12, 5, 48), targets = ints(2 * 12, 6, 48)
    const lossMask = Float32Array.from({ length: 24 }, (_, i) => (i % 12 < 2 ? 0 : 1))
    const attention = Float32Array.from({ length: 24 }, (_, i) => (i < 3 ? 0 : 1)) // left padding in row 0
    const run = () => {
      const batch = {
        ids: tf.tensor2d(ids, [2, 12], "int32"),
        targets: tf.tensor2d(targets, [2, 12], "int32"),
        lossMask: tf.tensor2d(lossMask, [2, 12]),
        attentionMask: tf.tensor2d(attention, [2, 12])
      }
      const logits = Gpt.logits(model, batch.ids, batch.attentionMask)
      const { value, grads } = tf.variableGrads(() => Train.lmBatchLoss(model, batch), [...model.params.values()])
      return [logits, value, ...[...model.params.values()].map((v) => grads[v.name]!)]
    }
    const cpu = await on("cpu", run)
    const before = pathCounts().get("RlhfLayerNorm")?.native ?? 0
    const native = await on("native", run)
    expect(pathCounts().get("RlhfLayerNorm")!.native).toBeGreaterThan(before) // the fused path really ran
    expect(relErr(native[0]!.values, cpu[0]!.values)).toBeLessThan(TOL_LOGITS)
    expect(Math.abs(native[1]!.values[0]! - cpu[1]!.values[0]!)).toBeLessThan(1e-4 * Math.abs(cpu[1]!.values[0]!))
    const names = [...model.params.keys()]
    cpu.slice(2).forEach((c, i) => {
      const err = relErr(native[i + 2]!.values, c.values)
      if (!(err < TOL_GRADS)) throw new Error(`gradient of ${names[i]}: relative error ${err}`)
    })
    Gpt.dispose(model)
  })
})
