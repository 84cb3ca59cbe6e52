/** PPO/DPO/reward-model math: plain-number advantage shaping and tfjs-core losses. */
export * from "./Rows.ts"
export * from "./Gae.ts"
export * from "./Whiten.ts"
export * from "./KlEstimators.ts"
export * from "./KlController.ts"
export * from "./Losses.ts"
export * from "./Dpo.ts"
export * from "./RewardModelLoss.ts"
