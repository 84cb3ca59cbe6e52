/**
 * Running the model stages' `run` directly in tests: silent progress, a test StageInfo with a
 * chosen seed, and the lineage the stage records. Also small table fixtures.
 */
import { createHash } from "node:crypto"
import type { AnyStage, Stage, Tables } from "@rlhf/core"
import { Progress, type ProgressUpdate, StageInfo, Table } from "@rlhf/core"
import { Cause, Effect, Exit, Layer, Logger, Schema } from "effect"
import { SftRow } from "../../src/schemas/SftRow.ts"
import { TextRow } from "../../src/schemas/TextRow.ts"

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Inputs<S extends AnyStage> = S extends Stage.Stage<infer I, any, any> ? Tables<I> : never
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Outputs<S extends AnyStage> = S extends Stage.Stage<any, infer O, any> ? Tables<O> : never

/** What a run returned, the lineage it recorded and the progress it reported. */
export interface Ran<S extends AnyStage> {
  readonly outputs: Outputs<S>
  readonly lineage: Record<string, string>
  readonly progress: ReadonlyArray<ProgressUpdate>
}

const effectOf = <S extends AnyStage>(stage: S, inputs: Inputs<S>, params: unknown, seed: number, lineage: Record<string, string>, progress: ProgressUpdate[] = []) =>
  stage.run({ inputs, params: Schema.decodeUnknownSync(stage.params)(params) }).pipe(
    Effect.provide(Layer.mergeAll(
      Layer.succeed(Progress, Progress.of({ update: (u) => void progress.push(u) })),
      Logger.layer([]), // the stages' log lines would only clutter test output
      Layer.succeed(StageInfo, StageInfo.of({ node: "node", seed, device: null, cwd: process.cwd(), record: (k, v) => void (lineage[k] = v) }))
    ))
  )

/**
 * Runs a stage with params decoded by its schema (defaults filled) under the node seed `seed`;
 * like the runner, checks that every output survives Arrow IPC against its declared schema.
 */
export const runModelStage = async <S extends AnyStage>(stage: S, inputs: Inputs<S>, params: unknown = {}, seed = 0): Promise<Ran<S>> => {
  const lineage: Record<string, string> = {}
  const progress: ProgressUpdate[] = []
  const outputs = await Effect.runPromise(effectOf(stage, inputs, params, seed, lineage, progress)) as Record<string, Table.Table>
  for (const [name, schema] of Object.entries(stage.outputs as Record<string, Table.Table["rowSchema"]>)) {
    const table = outputs[name]
    if (table === undefined) throw new Error(`stage ${stage.name} returned no output '${name}'`)
    Effect.runSync(Table.fromIPC(schema, Table.toIPC(table), name))
  }
  return { outputs: outputs as Outputs<S>, lineage, progress }
}

/** Runs a stage that must fail, and returns its typed failure (not a defect). */
export const modelStageError = async <S extends AnyStage>(stage: S, inputs: Inputs<S>, params: unknown = {}): Promise<Error> => {
  const exit = await Effect.runPromiseExit(effectOf(stage, inputs, params, 0, {}))
  if (Exit.isSuccess(exit)) throw new Error(`stage ${stage.name} succeeded; expected it to fail`)
  const failure = exit.cause.reasons.find(Cause.isFailReason)
  if (failure === undefined) throw new Error(`stage ${stage.name} died instead of failing: ${Cause.pretty(exit.cause)}`)
  return failure.error as Error
}

/** SHA-256 of a table's Arrow IPC bytes. */
export const tableHash = (table: Table.Table): string => createHash("sha256").update(Table.toIPC(table)).digest("hex")

/** Metric rows of a metrics table matching name (and group when given), in order. */
export const metricRows = (table: Table.Table, name: string, group?: string | null) =>
  (Table.toRows(table) as Array<{ name: string; value: number; step: number | null; group: string | null }>)
    .filter((r) => r.name === name && (group === undefined || r.group === group))

/** A text table (pretraining documents). */
export const textTable = (texts: ReadonlyArray<string>) => Table.fromColumns(TextRow, { text: texts })

/** An SFT table of single-turn prompts. */
export const sftTable = (rows: ReadonlyArray<{ prompt: string | ReadonlyArray<{ role: string; content: string }>; response: string }>) =>
  Table.make(SftRow, rows.map((r) => ({
    prompt: typeof r.prompt === "string" ? [{ role: "user", content: r.prompt }] : [...r.prompt],
    response: r.response,
    source: "test"
  })))

// A tiny seeded generator for fixture text (independent of nn's).
const lcg = (seed: number) => {
  let s = seed >>> 0
  return (n: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % n)
}

/**
 * Documents of a small regular language: "the <adj> <noun> <verb> the <noun>." sentences, a few
 * per document. Cheap to learn (a model that sees context beats token-pair statistics quickly).
 */
export const toyCorpus = (documents: number, seed = 1): string[] => {
  const rnd = lcg(seed)
  const adj = ["red", "small", "old", "quiet", "bright", "green"]
  const noun = ["cat", "dog", "bird", "king", "ship", "tree"]
  const verb = ["sees", "likes", "finds", "follows"]
  const pick = (xs: string[]) => xs[rnd(xs.length)]!
  return Array.from({ length: documents }, () =>
    Array.from({ length: 2 + rnd(3) }, () => `the ${pick(adj)} ${pick(noun)} ${pick(verb)} the ${pick(noun)}.`).join(" "))
}
