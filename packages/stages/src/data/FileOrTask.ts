/**
 * A source that reads the user's files, or generates the built-in default task when its `path` is
 * `builtin:task` (the default). The reference pipeline's sources are such nodes, so it runs
 * anywhere with no data and on real data with `--set preferences.path=my.jsonl`.
 */
import { type AnyStage, Stage, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"

/** The `path` that selects the built-in task. */
export const BUILTIN_TASK = "builtin:task"

const pick = (params: Record<string, unknown>, schema: AnyStage["params"]) => {
  const keys = (schema.ast as { propertySignatures: ReadonlyArray<{ name: PropertyKey }> }).propertySignatures.map((p) => String(p.name))
  return Object.fromEntries(keys.filter((k) => params[k] !== undefined).map((k) => [k, params[k]]))
}

/**
 * Combines a file source and a task source with the same output names (the file stage may have
 * more outputs, e.g. `rejects`: they are empty in task mode). Params are the union of both.
 * `module` is the defining file, for the code fingerprint (pass `import.meta.filename`).
 */
export const fileOrTask = <F extends AnyStage, T extends AnyStage>(options: {
  readonly name: string
  readonly module: string
  readonly file: F
  readonly task: T
}) => {
  const { file, task } = options
  const fileFields = (file.params as unknown as Schema.Struct<Schema.Struct.Fields>).fields
  const taskFields = (task.params as unknown as Schema.Struct<Schema.Struct.Fields>).fields
  const params = Schema.Struct({
    ...taskFields,
    ...fileFields,
    path: (fileFields["path"] as Schema.Top).pipe(Schema.withDecodingDefaultKey(Effect.succeed(BUILTIN_TASK as never)))
  })
  const isTask = (p: { path?: unknown }) => p.path === BUILTIN_TASK
  return Stage.make({
    name: options.name,
    version: `1+${file.version}+${task.version}`,
    description: `${file.description ?? file.name}; with path '${BUILTIN_TASK}' (the default): ${task.description ?? task.name}`,
    module: options.module,
    inputs: {},
    outputs: file.outputs as F["outputs"],
    params,
    files: (p) => (isTask(p) ? [] : file.files?.(p) ?? []),
    run: ({ params: p }): Effect.Effect<never, unknown, never> =>
      Effect.gen(function*() {
        const chosen = isTask(p as { path?: unknown }) ? task : file
        const decoded = yield* Schema.decodeUnknownEffect(chosen.params)(pick(p as Record<string, unknown>, chosen.params))
        const out = (yield* chosen.run({ inputs: {}, params: decoded })) as Record<string, Table.Table>
        // Outputs the task stage lacks (rejects…) are empty tables of their declared schema.
        return Object.fromEntries(Object.entries(file.outputs).map(([k, schema]) => [k, out[k] ?? Table.make(schema as never, [])]))
      }) as never
  })
}
