/**
 * The same model on every backend the tests run on gives the same numbers: logits, loss and every
 * parameter gradient of the tiny GPT agree with the `cpu` backend (the reference: tfjs's plain
 * JavaScript kernels) to float32 tolerance, as the relative error of norms ‖x − x_cpu‖ / ‖x_cpu‖.
 */
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import * as Gpt from "../src/Gpt.ts"
import * as Train from "../src/Train.ts"
import { availableBackends } from "./backends.ts"

// Logits after two layers; gradients of a mean loss sum many products, so they drift further.
const TOL_LOGITS = 1e-4
const TOL_GRADS = 5e-4

const config: Gpt.Config = { vocabSize: 48, dModel: 32, nLayers: 2, nHeads: 4, contextLength: 16 }
const tokens = (n: number, seed: number) => Int32Array.from({ length: n }, (_, i) => (i * 7919 + seed * 104729) % config.vocabSize)

/** Logits, loss and gradients (in parameter order) of one padded batch, on `backend`, with their names. */
const forwardBackward = async (backend: string): Promise<{ names: string[]; values: Float32Array[] }> => {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`)
  const model = Gpt.init(config, { seed: 3 })
  try {
    const batch = {
      ids: tf.tensor2d(tokens(24, 1), [2, 12], "int32"),
      targets: tf.tensor2d(tokens(24, 2), [2, 12], "int32"),
      lossMask: tf.tensor2d(Float32Array.from({ length: 24 }, (_, i) => (i % 12 < 2 ? 0 : 1)), [2, 12]),
      attentionMask: tf.tensor2d(Float32Array.from({ length: 24 }, (_, i) => (i < 3 ? 0 : 1)), [2, 12]) // row 0 left-padded
    }
    const logits = Gpt.logits(model, batch.ids, batch.attentionMask)
    const params = [...model.params.values()]
    const { value, grads } = tf.variableGrads(() => Train.lmBatchLoss(model, batch), params)
    const values = [logits, value, ...params.map((p) => grads[p.name]!)].map((t) => t.dataSync() as Float32Array)
    tf.dispose([logits, value, ...Object.values(grads), ...Object.values(batch)])
    return { names: ["logits", "loss", ...[...model.params.keys()].map((k) => `gradient of ${k}`)], values }
  } finally {
    Gpt.dispose(model)
  }
}

const relErr = (x: Float32Array, ref: Float32Array): number => {
  let diff = 0, norm = 0
  for (let i = 0; i < ref.length; i++) {
    diff += (x[i]! - ref[i]!) ** 2
    norm += ref[i]! ** 2
  }
  return Math.sqrt(diff / norm)
}

describe("backend agreement", () => {
  it("runs on more than one backend (cpu and wasm always load here)", () => {
    expect(availableBackends).toContain("cpu")
    expect(availableBackends.length).toBeGreaterThan(1)
  })

  it.each(availableBackends.filter((b) => b !== "cpu"))("%s agrees with cpu on logits, loss and every gradient", async (backend) => {
    const reference = await forwardBackward("cpu")
    const other = await forwardBackward(backend)
    const errors = reference.values.map((x, i) => ({ name: reference.names[i], err: relErr(other.values[i]!, x) }))
    const tolerance = (i: number) => (i < 2 ? TOL_LOGITS : TOL_GRADS)
    expect(errors.filter((e, i) => !(e.err < tolerance(i)))).toEqual([])
    expect(other.names).toEqual(reference.names)
    // A broken backend differs by far more than float32 rounding; identical results would mean it never switched.
    expect(tf.getBackend()).toBe(backend)
  })
})
