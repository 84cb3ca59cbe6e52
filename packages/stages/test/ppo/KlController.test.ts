import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { adaptiveKl, fixedKl, KlControllerStateSchema, updateKl } from "../../src/ppo/KlController.ts"

describe("KL controllers", () => {
  it("fixed controller never moves", () => {
    expect(updateKl(fixedKl(0.05), 100, 1000).beta).toBe(0.05)
  })

  it("adaptive controller follows Ziegler et al. on given numbers", () => {
    const start = adaptiveKl(0.1, 6, 10_000)
    // KL 9 ≫ target 6: error = clip(9/6 − 1 = 0.5, ±0.2) = 0.2 → β = 0.1·(1 + 0.2·256/10000) = 0.100512
    expect(updateKl(start, 9, 256).beta).toBeCloseTo(0.100512, 10)
    // KL 5.7: error = −0.05 → β = 0.1·(1 − 0.05·256/10000) = 0.099872
    expect(updateKl(start, 5.7, 256).beta).toBeCloseTo(0.099872, 10)
    // KL 0 (policy == reference): error clipped at −0.2 → β = 0.1·(1 − 0.2·1000/10000) = 0.098
    expect(updateKl(start, 0, 1000).beta).toBeCloseTo(0.098, 10)
    // The step is pure: the starting state is untouched.
    expect(start.beta).toBe(0.1)
  })

  it("converges towards the target when KL reacts to β", () => {
    // Toy environment where KL = 0.6/β: the fixed point for target 6 is β = 0.1.
    let state = adaptiveKl(0.02, 6, 100)
    for (let i = 0; i < 400; i++) state = updateKl(state, 0.6 / state.beta, 10)
    expect(state.beta).toBeCloseTo(0.1, 2)
  })

  it("state survives a JSON round-trip through the schema", () => {
    const state = updateKl(adaptiveKl(0.1, 6, 10_000), 9, 256)
    const decoded = Schema.decodeUnknownSync(KlControllerStateSchema)(JSON.parse(JSON.stringify(state)))
    expect(decoded).toEqual(state)
    expect(() => Schema.decodeUnknownSync(KlControllerStateSchema)({ _tag: "Adaptive", beta: 0.1 })).toThrow()
    expect(() => adaptiveKl(0.1, 0, 100)).toThrow(/must be positive/)
  })
})
