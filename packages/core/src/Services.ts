/**
 * Services the runner gives every stage through Effect's Context: who and where the stage is,
 * and how it reports progress and lineage. Randomness comes from Effect's own `Random`,
 * seeded per node by the runner; logs go through Effect's logger.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Progress, StageInfo } from "@rlhf/core"
 * const step = Effect.gen(function*() {
 *   const info = yield* StageInfo
 *   const progress = yield* Progress
 *   progress.update({ done: 1, total: 10, info: `node ${info.node}` })
 * })
 * ```
 */
import { Context, Layer } from "effect"

/** One progress report: `done` of `total` units, with an optional short status line. */
export interface ProgressUpdate {
  readonly done: number
  readonly total: number
  readonly info?: string
}

/** Progress reporting for the running stage (drawn as a bar on a terminal, as lines in CI). */
export class Progress extends Context.Service<Progress, {
  readonly update: (update: ProgressUpdate) => void
}>()("@rlhf/core/Progress") {
  /** A progress service that drops every update (tests, nested runs). */
  static readonly silent = Layer.succeed(Progress, Progress.of({ update: () => {} }))
}

/** Facts about the running node, and a sink for lineage it wants recorded (e.g. the tensor backend). */
export class StageInfo extends Context.Service<StageInfo, {
  /** The node id in its pipeline (`group/node`). */
  readonly node: string
  /** The seed of this node: the run's seed mixed with the node's cache key parts. */
  readonly seed: number
  /** The GPU index this stage was placed on, or null when it runs on the CPU. */
  readonly device: number | null
  /** The directory the pipeline runs from; relative paths in params resolve against it. */
  readonly cwd: string
  /** Records a lineage fact (not part of the cache key), e.g. `record("backend", "native 4.22.0")`. */
  readonly record: (key: string, value: string) => void
}>()("@rlhf/core/StageInfo") {
  /** A StageInfo for running a stage outside the runner (tests). */
  static readonly test = (overrides: Partial<Omit<StageInfo["Service"], "record">> = {}) =>
    Layer.succeed(StageInfo, StageInfo.of({
      node: overrides.node ?? "test",
      seed: overrides.seed ?? 0,
      device: overrides.device ?? null,
      cwd: overrides.cwd ?? process.cwd(),
      record: () => {}
    }))
}
