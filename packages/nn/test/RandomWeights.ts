/** Test helper: a model's weights drawn afresh with a larger scale than init's. */
import * as tf from "@tensorflow/tfjs-core"
import type * as Gpt from "../src/Gpt.ts"
import * as Prng from "../src/Prng.ts"

/**
 * Sets every weight of `model` to N(0, scale²) (LayerNorm gammas to 1 + that), seeded: large
 * enough that attention and GELU are far from linear and sampling is far from uniform.
 */
export const randomizeWeights = (model: Gpt.Model, seed: number, scale: number): Gpt.Model => {
  const rng = Prng.make(seed)
  for (const [name, v] of model.params) {
    const values = Float32Array.from({ length: v.size }, () => (name.endsWith("gamma") ? 1 : 0) + scale * rng.normal())
    tf.tidy(() => v.assign(tf.tensor(values, v.shape)))
  }
  return model
}
