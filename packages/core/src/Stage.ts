/**
 * A stage: one typed step of a pipeline. It names its inputs and outputs (each a row schema),
 * a params schema with defaults, the resources it needs, and `run`, an Effect from input tables
 * and decoded params to output tables.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Columns, Stage, Table } from "@rlhf/core"
 * const Lines = Schema.Struct({ line: Columns.Utf8 })
 * const Upper = Stage.make({
 *   name: "upper", version: "1",
 *   inputs: { lines: Lines }, outputs: { lines: Lines },
 *   params: Schema.Struct({}),
 *   run: ({ inputs }) => Effect.succeed({
 *     lines: Table.make(Lines, Table.toRows(inputs.lines).map((r) => ({ line: r.line.toUpperCase() })))
 *   })
 * })
 * ```
 */
import type { Effect, Schema } from "effect"
import type { Progress, StageInfo } from "./Services.ts"
import type { RowSchema, Table } from "./Table.ts"

/** Named row schemas of a stage's inputs or outputs. */
export type Ports = Record<string, RowSchema>

/** Typed tables for a set of ports. */
export type Tables<P extends Ports> = { readonly [K in keyof P]: Table<P[K]> }

/** What a stage asks of the scheduler. */
export interface Resources {
  /** CPU slots held while running (default 1). */
  readonly cpu?: number
  /** GPU devices (0 or 1; default 0). A GPU stage runs on the CPU, with a warning, where none exists. */
  readonly gpu?: number
  /** Whether other GPU stages may share this stage's device (default false: one per device). */
  readonly shareGpu?: boolean
  /** Memory the stage expects to use, in MiB (informational, recorded in lineage). */
  readonly memoryMb?: number
}

/**
 * How a stage's results are cached (Hamilton's vocabulary):
 * - `default`: keyed and reused;
 * - `recompute`: always rerun, but outputs are stored so downstream keys can still cut off early;
 * - `disable`: always rerun, outputs not stored beyond the run.
 */
export type CachePolicy = "default" | "recompute" | "disable"

/**
 * Where a stage runs:
 * - `none` (the default): in the runner's own thread. For light stages: nothing to start, but
 *   while one computes, the runner does nothing else.
 * - `thread`: in a pooled worker thread of the runner's process. For pure-JavaScript CPU work
 *   (deduplication, tokenising): it runs beside other stages on another core, starts in about half
 *   the time of a process, and an exception, a hang (timeout) or running out of heap fails only
 *   this stage. A crash in native code would take the runner with it, and a thread sees the
 *   runner's environment, so a stage that holds a GPU device runs in a process instead.
 * - `process`: in a pooled worker process. For stages that train or run models (native code,
 *   large memory, `CUDA_VISIBLE_DEVICES` per device): whatever happens, the runner goes on.
 */
export type Isolation = "none" | "thread" | "process"

/** Services the runner provides to every stage. */
export type StageServices = Progress | StageInfo

/** What `run` receives. */
export interface RunContext<I extends Ports, P> {
  readonly inputs: Tables<I>
  readonly params: P
}

/** The description of a stage, as passed to `make`. */
export interface StageSpec<I extends Ports, O extends Ports, P extends Schema.Top> {
  readonly name: string
  /** Bump to invalidate cached results when behaviour changes in a way the code fingerprint cannot see. */
  readonly version: string
  readonly description?: string
  readonly inputs: I
  readonly outputs: O
  /** A `Schema.Struct` of params; give defaults with `Schema.withDecodingDefaultKey`. */
  readonly params: P
  readonly resources?: Resources | ((params: P["Type"]) => Resources)
  /** Where the stage runs; see {@link Isolation}. `true` is `"process"`. */
  readonly isolate?: boolean | "process" | "thread"
  readonly cache?: CachePolicy
  /** Files the stage reads (resolved against the working directory, `StageInfo.cwd`); their content is part of the key. */
  readonly files?: (params: P["Type"]) => ReadonlyArray<string>
  /** Extra attempts after a failure (default 0). */
  readonly retries?: number
  /** Time limit of one attempt, in milliseconds. */
  readonly timeoutMs?: number
  /** The module that defines the stage, for the code fingerprint; found from the call site when omitted. */
  readonly module?: string
  readonly run: (ctx: RunContext<I, P["Type"]>) => Effect.Effect<Tables<O>, unknown, StageServices>
}

/** A stage: its spec plus the module that defines it. */
export interface Stage<I extends Ports = Ports, O extends Ports = Ports, P extends Schema.Top = Schema.Top>
  extends StageSpec<I, O, P>
{
  readonly module: string
}

/** Any stage, whatever its ports and params. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStage = Stage<any, any, any>

/** The file that called the function that called this one (from a V8 stack trace). */
export const callerModule = (depth = 2): string => {
  const lines = (new Error().stack ?? "").split("\n").slice(1)
  const frame = lines[depth] ?? ""
  const match = /\((.*):\d+:\d+\)$/.exec(frame) ?? /at (.*):\d+:\d+$/.exec(frame)
  const file = match?.[1] ?? "<unknown>"
  return file.startsWith("file://") ? new URL(file).pathname : file
}

/** Declares a stage. */
export const make = <I extends Ports, O extends Ports, P extends Schema.Top>(
  spec: StageSpec<I, O, P>
): Stage<I, O, P> => ({ ...spec, module: spec.module ?? callerModule() })

/** The resources a stage asks for with these params, defaults filled in. */
export const resourcesOf = (stage: AnyStage, params: unknown): Required<Omit<Resources, "memoryMb">> & Resources => {
  const r = typeof stage.resources === "function" ? stage.resources(params) : stage.resources ?? {}
  return { ...r, cpu: r.cpu ?? 1, gpu: r.gpu ?? 0, shareGpu: r.shareGpu ?? false }
}

/** Where a stage runs (see {@link Isolation}). */
export const isolationOf = (stage: AnyStage): Isolation =>
  stage.isolate === true || stage.isolate === "process" ? "process" : stage.isolate === "thread" ? "thread" : "none"
