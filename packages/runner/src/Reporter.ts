/**
 * What the runner tells the person running it, as events; `ProgressView` draws them.
 */
import type { ProgressUpdate } from "@rlhf/core"

/** How a node ended in a run. */
export type NodeStatus = "cached" | "ran" | "failed" | "skipped"

/** One node's outcome in a run. */
export interface NodeOutcome {
  readonly id: string
  readonly status: NodeStatus
  readonly key: string | null
  readonly ms: number
  readonly reason?: string
}

/** Receives a run's events. */
export interface Reporter {
  readonly start: (node: string, info: { readonly key: string; readonly device: number | null; readonly why: ReadonlyArray<string> }) => void
  readonly progress: (node: string, update: ProgressUpdate) => void
  readonly log: (node: string, line: string) => void
  readonly finish: (outcome: NodeOutcome) => void
  readonly warn: (message: string) => void
}

/** A reporter that drops everything (tests, library use). */
export const silentReporter: Reporter = { start: () => {}, progress: () => {}, log: () => {}, finish: () => {}, warn: () => {} }
