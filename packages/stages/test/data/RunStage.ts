/** Running a stage's `run` directly in tests, with silent progress and a test StageInfo. */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import type { AnyStage, Stage, Tables } from "@rlhf/core"
import { Progress, StageInfo, Table } from "@rlhf/core"
import { Cause, Effect, Exit, Layer, Schema } from "effect"

/** The repository root, from this file's place in packages/stages/test/data. */
export const repoRoot = resolve(import.meta.dirname, "../../../..")

/** The shared data directory beside the repository, failing loudly (not skipping) when absent. */
export const sharedData = (): string => {
  const dir = resolve(repoRoot, "../shared/data")
  if (!existsSync(dir)) {
    throw new Error(`missing shared test data ${dir}: these tests read the real samples from ../shared/data beside the repository (see shared/data/README.md); do not copy them into the repo`)
  }
  return dir
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Inputs<S extends AnyStage> = S extends Stage.Stage<infer I, any, any> ? Tables<I> : never
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Outputs<S extends AnyStage> = S extends Stage.Stage<any, infer O, any> ? Tables<O> : never

const services = (cwd: string, node: string) => Layer.mergeAll(Progress.silent, StageInfo.test({ cwd, node }))

const effectOf = <S extends AnyStage>(stage: S, inputs: Inputs<S>, params: unknown, cwd: string) =>
  stage.run({ inputs, params: Schema.decodeUnknownSync(stage.params)(params) }).pipe(Effect.provide(services(cwd, "node")))

/**
 * Runs a stage with params decoded by its schema (defaults filled), resolving paths against
 * `cwd`; like the runner, checks that every output survives Arrow IPC against its declared schema.
 */
export const runStage = async <S extends AnyStage>(stage: S, inputs: Inputs<S>, params: unknown = {}, cwd = repoRoot): Promise<Outputs<S>> => {
  const outputs = (await Effect.runPromise(effectOf(stage, inputs, params, cwd))) as Record<string, Table.Table>
  for (const [name, schema] of Object.entries(stage.outputs as Record<string, Table.Table["rowSchema"]>)) {
    const table = outputs[name]
    if (table === undefined) throw new Error(`stage ${stage.name} returned no output '${name}'`)
    Effect.runSync(Table.fromIPC(schema, Table.toIPC(table), name))
  }
  return outputs as Outputs<S>
}

/** Runs a stage that must fail, and returns its error (a typed failure, not a defect). */
export const stageError = async <S extends AnyStage>(stage: S, inputs: Inputs<S>, params: unknown = {}, cwd = repoRoot): Promise<unknown> => {
  const exit = await Effect.runPromiseExit(effectOf(stage, inputs, params, cwd))
  if (Exit.isSuccess(exit)) throw new Error(`stage ${stage.name} succeeded; expected it to fail`)
  const failure = exit.cause.reasons.find(Cause.isFailReason)
  if (failure === undefined) throw new Error(`stage ${stage.name} died instead of failing: ${Cause.pretty(exit.cause)}`)
  return failure.error
}
