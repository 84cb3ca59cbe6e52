import { Schema } from "effect"

/** A KL coefficient that never changes. */
export interface FixedKlState {
  readonly _tag: "Fixed"
  readonly beta: number
}

/**
 * Ziegler et al. (2019) adaptive KL coefficient: steers the observed KL towards
 * `target`, reacting over `horizon` samples.
 */
export interface AdaptiveKlState {
  readonly _tag: "Adaptive"
  readonly beta: number
  readonly target: number
  readonly horizon: number
}

/**
 * Serialisable KL-controller state. It is plain JSON so it can be cached between
 * PPO iterations and decoded back with {@link KlControllerStateSchema}.
 */
export type KlControllerState = FixedKlState | AdaptiveKlState

/** Schema for decoding/encoding a cached {@link KlControllerState}. */
export const KlControllerStateSchema = Schema.Union([
  Schema.TaggedStruct("Fixed", { beta: Schema.Finite }),
  Schema.TaggedStruct("Adaptive", { beta: Schema.Finite, target: Schema.Finite, horizon: Schema.Finite })
])

/** A controller that keeps β fixed. */
export const fixedKl = (beta: number): KlControllerState => ({ _tag: "Fixed", beta })

/** An adaptive controller starting at `initBeta`, aiming at `target` nats of KL per response. */
export const adaptiveKl = (initBeta: number, target: number, horizon: number): KlControllerState => {
  if (!(target > 0) || !(horizon > 0)) {
    throw new RangeError(`adaptiveKl: target (${target}) and horizon (${horizon}) must be positive`)
  }
  return { _tag: "Adaptive", beta: initBeta, target, horizon }
}

/**
 * One controller step after observing mean KL `currentKl` over `nSteps` samples:
 * error = clip(currentKl/target − 1, −0.2, 0.2), β ← β·(1 + error·nSteps/horizon).
 * Fixed controllers are returned unchanged. Pure: returns the next state.
 */
export const updateKl = (state: KlControllerState, currentKl: number, nSteps: number): KlControllerState => {
  if (state._tag === "Fixed") return state
  const error = Math.min(0.2, Math.max(-0.2, currentKl / state.target - 1))
  return { ...state, beta: state.beta * (1 + (error * nSteps) / state.horizon) }
}
