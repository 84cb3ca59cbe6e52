/**
 * The loop every JSON-record source stage runs: each file of its `path`, decoded record by
 * record, malformed records failing the node or skipped (`skipInvalid`), one log line and one
 * progress step per file.
 */
import { Progress, StageInfo } from "@rlhf/core"
import { Effect } from "effect"
import type { Reject } from "../preferences/Readers.ts"
import { baseName } from "../preferences/Readers.ts"
import { decodeRecords, settleRejects } from "./JsonRecords.ts"
import { type PathParam, pathList, readText } from "./SourceFiles.ts"

/** What the files held: each decoded item with its source (the `source` param, else the file's base name), and the skipped records. */
export interface RecordFiles<T> {
  readonly items: ReadonlyArray<{ readonly item: T; readonly source: string }>
  readonly rejects: ReadonlyArray<Reject>
}

/** Reads every file of `params.path` with `decode`; `noun` names the items in the log ("prompts"). */
export const readRecordFiles = <T>(
  params: { readonly path: typeof PathParam.Type; readonly skipInvalid: boolean; readonly source?: string | undefined },
  decode: (value: unknown) => T,
  noun: string
) =>
  Effect.gen(function*() {
    const info = yield* StageInfo
    const progress = yield* Progress
    const files = pathList(params.path)
    const items: Array<{ item: T; source: string }> = []
    const rejects: Reject[] = []
    for (const [i, file] of files.entries()) {
      const decoded = decodeRecords(yield* readText(file), file, decode)
      const error = settleRejects(info.node, params.skipInvalid, decoded.rejects, decoded.fatal)
      if (error !== undefined) return yield* error
      const source = params.source ?? baseName(file)
      for (const item of decoded.items) items.push({ item, source })
      rejects.push(...decoded.rejects)
      yield* Effect.logInfo(`${file}: ${decoded.items.length} ${noun}${decoded.rejects.length > 0 ? `, ${decoded.rejects.length} malformed records skipped` : ""}`)
      progress.update({ done: i + 1, total: files.length, info: file })
    }
    return { items, rejects } satisfies RecordFiles<T>
  })
