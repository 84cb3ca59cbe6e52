import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * The small state PPO carries from one iteration to the next (a one-row table):
 * - `iteration`: the last iteration that produced it (0 before the first);
 * - the KL controller (ppo/KlController): `controller` "Fixed" | "Adaptive", its current
 *   `beta`, and for "Adaptive" its `target` KL and `horizon` (null for "Fixed");
 * - `seed`: the seed the iteration derived from (run seed, stage seed, iteration) for all its
 *   randomness, recorded so a resumed run can be checked against it (0 before the first).
 */
export const PolicyStateRow = Schema.Struct({
  iteration: Columns.Int32,
  controller: Columns.Utf8,
  beta: Columns.Float64,
  target: Columns.Nullable(Columns.Float64),
  horizon: Columns.Nullable(Columns.Float64),
  seed: Columns.Int64
})
