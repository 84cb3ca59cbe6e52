/**
 * The one-row PPO state table (schemas/PolicyStateRow) ↔ the KL controller state and iteration.
 */
import { Table } from "@rlhf/core"
import { Effect } from "effect"
import { adaptiveKl, fixedKl, type KlControllerState } from "../ppo/KlController.ts"
import { metric, type MetricRow } from "../schemas/MetricRow.ts"
import { PolicyOptimizerRow } from "../schemas/PolicyOptimizerRow.ts"
import { PolicyStateRow } from "../schemas/PolicyStateRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import type { Checkpoint } from "./PpoLoop.ts"

/** The PPO state carried between iterations. */
export interface PpoCarry {
  readonly iteration: number
  readonly kl: KlControllerState
  readonly seed: number
}

/** Reads the one-row state table; throws saying what is wrong with it. */
export const readState = (table: Table.Table<typeof PolicyStateRow>): PpoCarry => {
  if (table.numRows !== 1) throw new Error(`the state table has ${table.numRows} rows, expected 1; wire the state output of ppo-init or of the previous ppo-iteration`)
  const row = Table.toRows(table)[0]!
  if (row.controller === "Fixed") return { iteration: row.iteration, kl: fixedKl(row.beta), seed: row.seed }
  if (row.controller === "Adaptive" && row.target !== null && row.horizon !== null) {
    return { iteration: row.iteration, kl: adaptiveKl(row.beta, row.target, row.horizon), seed: row.seed }
  }
  throw new Error(`the state row has controller ${JSON.stringify(row.controller)} (target ${row.target}, horizon ${row.horizon}); expected "Fixed", or "Adaptive" with a target and horizon`)
}

/** The one-row state table. */
export const stateTable = (carry: PpoCarry): Table.Table<typeof PolicyStateRow> =>
  Table.make(PolicyStateRow, [{
    iteration: carry.iteration,
    controller: carry.kl._tag,
    beta: carry.kl.beta,
    target: carry.kl._tag === "Adaptive" ? carry.kl.target : null,
    horizon: carry.kl._tag === "Adaptive" ? carry.kl.horizon : null,
    seed: carry.seed
  }], "state")

/** Throws unless the state comes from the iteration before `iteration`. */
export const checkIteration = (carry: PpoCarry, iteration: number): void => {
  if (carry.iteration !== iteration - 1) {
    throw new Error(`the state input comes from iteration ${carry.iteration} but this node runs iteration ${iteration}; wire the outputs of iteration ${iteration - 1} (ppo-init's for iteration 1)`)
  }
}

/** Metric rows (MetricRow) of named stats at a step. */
export const statsRows = (stats: Record<string, number>, step: number): Array<typeof MetricRow.Type> =>
  Object.entries(stats).map(([name, value]) => metric(name, value, null, step))

/** A checkpoint's Arrow tables checked against their row schemas. */
export const checkpointTables = (c: Checkpoint) =>
  Effect.all({
    policy: Table.fromArrow(WeightsRow, c.policy, "policy"),
    critic: Table.fromArrow(WeightsRow, c.critic, "critic"),
    policyOptimizer: Table.fromArrow(PolicyOptimizerRow, c.policyOptimizer, "policyOptimizer"),
    criticOptimizer: Table.fromArrow(PolicyOptimizerRow, c.criticOptimizer, "criticOptimizer")
  })
