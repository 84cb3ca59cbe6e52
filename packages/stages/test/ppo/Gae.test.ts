import { describe, expect, it } from "vitest"
import { gae } from "../../src/ppo/Gae.ts"

const close = (actual: ArrayLike<number>, expected: number[], digits = 6) => {
  expect(actual.length).toBe(expected.length)
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits))
}

describe("gae", () => {
  it("matches a 3-token episode computed by hand, ignoring the padded 4th slot", () => {
    // γ = 0.9, λ = 0.5 (γλ = 0.45); the padded slot holds garbage that must not leak in.
    // t=2 (last real token, next value 0): δ2 = 1.0 + 0.9·0 − 0.8 = 0.2;  A2 = 0.2;  R2 = 0.2 + 0.8 = 1.0
    // t=1: δ1 = −0.2 + 0.9·0.8 − 0.3 = 0.22;  A1 = 0.22 + 0.45·0.2 = 0.31;  R1 = 0.31 + 0.3 = 0.61
    // t=0: δ0 = 0.1 + 0.9·0.3 − 0.5 = −0.13;  A0 = −0.13 + 0.45·0.31 = 0.0095;  R0 = 0.0095 + 0.5 = 0.5095
    const { advantages, returns } = gae([[0.1, -0.2, 1.0, 7]], [[0.5, 0.3, 0.8, 9]], [[1, 1, 1, 0]], { gamma: 0.9, lambda: 0.5 })
    close(advantages[0]!, [0.0095, 0.31, 0.2, 0])
    close(returns[0]!, [0.5095, 0.61, 1.0, 0])
  })

  it("with γ = λ = 1 gives reward-to-go minus value, per row of a ragged batch", () => {
    // Row 0 (4 tokens): reward-to-go = [3, 3, 3, 3] (only the last token is rewarded) → A = [3−1, 3−2, 3−0, 3−(−1)].
    // Row 1 (2 tokens): rewards [1, 2] → reward-to-go [3, 2]; values [0.5, 0.5] → A = [2.5, 1.5].
    const { advantages, returns } = gae(
      [[0, 0, 0, 3], [1, 2, 0, 0]],
      [[1, 2, 0, -1], [0.5, 0.5, 4, 4]],
      [[1, 1, 1, 1], [1, 1, 0, 0]],
      { gamma: 1, lambda: 1 }
    )
    close(advantages[0]!, [2, 1, 3, 4])
    close(returns[0]!, [3, 3, 3, 3])
    close(advantages[1]!, [2.5, 1.5, 0, 0])
    close(returns[1]!, [3, 2, 0, 0])
  })

  it("with λ = 0 gives the one-step TD error", () => {
    // δ_t = r_t + γ·V_{t+1} − V_t with γ = 0.5: [0 + 0.5·2 − 1, 1 + 0.5·4 − 2, 2 + 0 − 4] = [0, 1, −2]
    const { advantages } = gae([[0, 1, 2]], [[1, 2, 4]], [[1, 1, 1]], { gamma: 0.5, lambda: 0 })
    close(advantages[0]!, [0, 1, -2])
  })

  it("gives the same result for left- and right-padded rows", () => {
    const options = { gamma: 0.95, lambda: 0.9 }
    const right = gae([[0.3, -0.1, 0.7, 0, 0]], [[0.2, 0.1, 0.4, 5, 5]], [[1, 1, 1, 0, 0]], options)
    const left = gae([[0, 0, 0.3, -0.1, 0.7]], [[5, 5, 0.2, 0.1, 0.4]], [[0, 0, 1, 1, 1]], options)
    close(left.advantages[0]!.slice(2), Array.from(right.advantages[0]!.slice(0, 3)))
    close(left.advantages[0]!.slice(0, 2), [0, 0])
  })

  it("rejects mismatched shapes", () => {
    expect(() => gae([[1, 2]], [[1, 2, 3]], [[1, 1]], { gamma: 1, lambda: 1 })).toThrow(/values\[0\] has length 3/)
  })
})
