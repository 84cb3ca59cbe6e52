/**
 * Runs one resolved node against the store: reads its input tables, runs the stage's Effect with
 * the engine's services, checks and stores its outputs. The same code runs in the runner's thread,
 * in worker threads and in worker processes.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { type Pipeline, Progress, type ProgressUpdate, StageError, StageInfo, Table } from "@rlhf/core"
import { Cause, Effect, Layer, Logger, Random } from "effect"
import type { Store, StoredOutput } from "./Store.ts"

/** What a node needs to run, besides its resolved stage. */
export interface ExecuteRequest {
  readonly node: string
  /** Input name → object hash of the table wired into it. */
  readonly inputs: Readonly<Record<string, string>>
  readonly seed: number
  readonly device: number | null
  readonly cwd: string
  readonly logFile: string
}

/** What a node produced. */
export interface ExecuteResult {
  readonly outputs: Record<string, StoredOutput>
  readonly lineage: Record<string, string>
}

/** A logger that appends `time level message` lines to a file and hands each line to `echo`. */
const fileLogger = (file: string, echo: (line: string) => void) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  return Logger.make<unknown, void>(({ date, logLevel, message }) => {
    const text = (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ")
    const line = `${date.toISOString()} ${logLevel.toUpperCase()} ${text}`
    fs.appendFileSync(file, `${line}\n`)
    echo(line)
  })
}

const stageError = (node: Pipeline.ResolvedNode, reason: string) =>
  new StageError({ node: node.id, stage: node.stage.name, reason })

const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) return error.message
  return typeof error === "string" ? error : JSON.stringify(error) ?? String(error)
}

/** Runs a node; fails with a `StageError` that carries the stage's own message. */
export const executeStage = (
  node: Pipeline.ResolvedNode,
  request: ExecuteRequest,
  store: Store,
  hooks: { readonly progress: (u: ProgressUpdate) => void; readonly log: (line: string) => void }
): Effect.Effect<ExecuteResult, StageError> =>
  Effect.gen(function*() {
    const stage = node.stage
    const inputs: Record<string, Table.Table> = {}
    for (const [name, hash] of Object.entries(request.inputs)) {
      const bytes = yield* Effect.try({ try: () => store.getObject(hash), catch: (e) => stageError(node, `reading input '${name}': ${(e as Error).message}`) })
      inputs[name] = yield* Table.fromIPC(stage.inputs[name], bytes, `${node.id}.${name}`).pipe(
        Effect.mapError((e) => stageError(node, `input '${name}' does not match the stage's schema: ${e.message}`))
      )
    }
    const lineage: Record<string, string> = {}
    const services = Layer.mergeAll(
      Layer.succeed(Progress, Progress.of({ update: hooks.progress })),
      Layer.succeed(StageInfo, StageInfo.of({
        node: node.id,
        seed: request.seed,
        device: request.device,
        cwd: request.cwd,
        record: (k, v) => {
          lineage[k] = v
        }
      })),
      Logger.layer([fileLogger(request.logFile, hooks.log)])
    )
    const outputs = yield* stage.run({ inputs, params: node.params }).pipe(
      Random.withSeed(request.seed),
      Effect.provide(services),
      Effect.catchCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.fail(stageError(node, describe(cause))))
    )
    const stored: Record<string, StoredOutput> = {}
    for (const name of Object.keys(stage.outputs)) {
      const table = (outputs as Record<string, Table.Table | undefined>)[name]
      if (table === undefined || table.arrow === undefined) {
        return yield* stageError(node, `run returned no table for output '${name}'; it must return { ${Object.keys(stage.outputs).join(", ")} }`)
      }
      yield* Table.fromArrow(stage.outputs[name], table.arrow, `${node.id}.${name}`).pipe(
        Effect.mapError((e) => stageError(node, `output '${name}' does not match its declared schema: ${e.message}`))
      )
      const { hash, bytes } = store.putTable(table)
      stored[name] = { hash, rows: table.numRows, bytes }
    }
    return { outputs: stored, lineage }
  })
