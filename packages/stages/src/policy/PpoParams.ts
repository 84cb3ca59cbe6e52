/**
 * Params of the PPO stages: rollout knobs (rollout, ppo-iteration) and update knobs (ppo-update,
 * ppo-iteration), spelled the same in each.
 */
import { Effect, Schema } from "effect"
import { between, bool, int, num, positive, SamplingFields } from "./Params.ts"

/** Rollout knobs. */
export const RolloutFields = {
  /** Prompts per rollout round; round r takes the r-th batch of a seeded stream of shuffled passes over the prompts. */
  batchSize: int(1, 16),
  /** Subtract the reference-baseline reward r(x, y_ref) from r(x, y) (ChatGLM-RLHF); false = raw rewards. */
  useBaseline: bool(true),
  ...SamplingFields
}

/** Update knobs. */
export const UpdateFields = {
  /** Passes over the rollouts per update. */
  epochs: int(1, 2),
  /** Rollouts per optimiser step. */
  minibatchSize: int(1, 8),
  /** Policy learning rate (constant). */
  lr: positive(3e-5),
  /** Critic learning rate (constant). */
  criticLr: positive(1e-4),
  /** AdamW decoupled weight decay of both optimisers (matrices only; used when the optimiser starts fresh). */
  weightDecay: num(0, 0),
  /** PPO ratio clip ε. */
  clipEps: positive(0.2),
  /** How far a value prediction may move from the rollout's in the clipped branch. */
  valueClip: positive(0.2),
  /** Discount γ per token. */
  gamma: between(0, 1, 1),
  /** GAE λ. */
  lambda: between(0, 1, 0.95),
  /** Whiten advantages over the batch. */
  whitenAdvantages: bool(true),
  /** Entropy bonus coefficient. */
  entropyCoef: num(0, 0),
  /** Per-token KL estimator in the reward: k1 (logπ − logπ_ref, InstructGPT), k2 or k3. */
  klEstimator: Schema.Literals(["k1", "k2", "k3"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("k1" as const))),
  /** Global gradient-norm clip of each step. */
  maxGradNorm: positive(1),
  /**
   * λ_ptx: weight of the next-token loss on SFT demonstrations added to the PPO policy loss (one
   * optimiser step over both; InstructGPT's PPO-ptx, ChatGLM-RLHF's defence against forgetting).
   * 0 turns PTX off.
   */
  ptxCoef: num(0, 0),
  /** SFT examples per PTX batch (drawn with a seed per minibatch). */
  ptxBatchSize: int(1, 8)
}

/** Decoded update knobs. */
export type UpdateParams = { readonly [K in keyof typeof UpdateFields]: (typeof UpdateFields)[K]["Type"] }
