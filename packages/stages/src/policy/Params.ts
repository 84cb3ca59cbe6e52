/**
 * Param schemas shared by the policy stages (with their defaults), so every stage that samples
 * or trains spells its knobs the same way.
 */
import { Effect, Schema } from "effect"

/** An integer param ≥ `min` with a default. */
export const int = (min: number, value: number) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(min)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A number param ≥ `min` with a default. */
export const num = (min: number, value: number) =>
  Schema.Number.check(Schema.isGreaterThanOrEqualTo(min)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A number param in [min, max] with a default. */
export const between = (min: number, max: number, value: number) =>
  Schema.Number.check(Schema.isGreaterThanOrEqualTo(min), Schema.isLessThanOrEqualTo(max)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A positive number param with a default. */
export const positive = (value: number) =>
  Schema.Number.check(Schema.isGreaterThan(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A boolean param with a default. */
export const bool = (value: boolean) => Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** How responses are sampled (rollouts, prompt-filter, rm-label-pairs). */
export const SamplingFields = {
  /** Softmax temperature (0 = greedy). */
  temperature: num(0, 1),
  /** Keep the k most likely tokens (0 = all). */
  topK: int(0, 0),
  /** Nucleus sampling mass (1 = off). */
  topP: between(0, 1, 1),
  /** Most tokens generated per response (<|endoftext|> included). */
  maxNewTokens: int(1, 32),
  /** Prompt budget in tokens (the chat template keeps the latest turns); 0 = context − maxNewTokens. */
  maxPromptTokens: int(0, 0),
  /** Sequences per generation / forward pass (memory vs. speed; samples are drawn per batch, so it changes them). */
  forwardBatchSize: int(1, 16)
}

/** Fields every model stage has: its seed (mixed with the run's) and the CPU slots it holds. */
export const CommonFields = {
  seed: int(0, 0),
  /**
   * CPU slots held while running; dpo, ppo-update, ppo-iteration and rollout also run that many
   * data-parallel worker threads (training steps and sampling; 1: in process).
   */
  workers: int(1, 1)
}

/** The sampling knobs as the generation helpers take them. */
export interface Sampling {
  readonly temperature: number
  readonly topK: number
  readonly topP: number
  readonly maxNewTokens: number
  readonly maxPromptTokens: number
  readonly forwardBatchSize: number
  /** Greedy decoding (ignores temperature, topK, topP). */
  readonly greedy?: boolean
}
