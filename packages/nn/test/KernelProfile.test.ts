import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import * as AdamW from "../src/AdamW.ts"
import * as Gpt from "../src/Gpt.ts"
import * as KernelProfile from "../src/KernelProfile.ts"
import * as Train from "../src/Train.ts"
import { useBackend } from "./backends.ts"

describe("kernel profile of a training step", () => {
  useBackend("cpu")
  it("lists the kernels a forward+backward+AdamW step runs, with call counts and time shares", async () => {
    const model = Gpt.init({ vocabSize: 20, dModel: 16, nLayers: 2, nHeads: 2, contextLength: 8 }, { seed: 1 })
    const opt = AdamW.make(model.params)
    const batch = Train.sftBatch([{ prompt: Int32Array.of(1, 2), response: Int32Array.of(3, 4, 0) }], 8)
    const stats = await KernelProfile.profileKernels(() => {
      Train.trainStep(model, opt, Train.lmBatchLoss, batch)
      return []
    })
    const byName = new Map(stats.map((s) => [s.name, s]))
    // Forward: 2 layers x (6 linear (q, k, v, proj, fc, mlp proj) + 2 attention) + logits = 17 products;
    // backward two per product; plus the two embedding gradients (wte, wpe) = 53.
    expect(byName.get("BatchMatMul")!.calls).toBe(17 * 3 + 2)
    expect(byName.has("unnamed scope")).toBe(false) // customGrad wrappers are not double-counted
    for (const k of ["Softmax", "Tanh", "GatherV2", "Transpose", "Sum", "Rsqrt", "OneHot"]) expect(byName.has(k)).toBe(true)
    expect(stats.reduce((s, k) => s + k.share, 0)).toBeCloseTo(1, 5)
    expect(KernelProfile.formatProfile(stats)).toContain("BatchMatMul")
    Gpt.dispose(model), AdamW.dispose(opt), tf.dispose([batch.ids, batch.targets, batch.lossMask, batch.attentionMask])
  })
})
