/**
 * The loop every record-reading source stage runs: each file of its `path`, read record by
 * record, malformed records failing the node or skipped (`skipInvalid`), one log line and one
 * progress step per file.
 */
import { Progress, StageInfo } from "@rlhf/core"
import { Effect } from "effect"
import type { Reject } from "../preferences/Readers.ts"
import { baseName } from "../preferences/Readers.ts"
import { type Decoded, decodeRecords, settleRejects } from "./JsonRecords.ts"
import { type PathParam, pathList, readText } from "./SourceFiles.ts"

/** The params every record source has. */
interface SourceParams {
  readonly path: typeof PathParam.Type
  readonly skipInvalid: boolean
}

/** What the files held: each item with the file it came from, and the skipped records. */
export interface SourceRecords<T> {
  readonly items: ReadonlyArray<{ readonly item: T; readonly file: string }>
  readonly rejects: ReadonlyArray<Reject>
}

/** Reads every file of `params.path` with `readFile`; `noun` names the items in the log ("pairs"). */
export const readSourceFiles = <T, E, R>(params: SourceParams, readFile: (file: string) => Effect.Effect<Decoded<T>, E, R>, noun: string) =>
  Effect.gen(function*() {
    const info = yield* StageInfo
    const progress = yield* Progress
    const files = pathList(params.path)
    const items: Array<{ item: T; file: string }> = []
    const rejects: Reject[] = []
    for (const [i, file] of files.entries()) {
      const decoded = yield* readFile(file)
      const error = settleRejects(info.node, params.skipInvalid, decoded.rejects, decoded.fatal)
      if (error !== undefined) return yield* error
      for (const item of decoded.items) items.push({ item, file })
      rejects.push(...decoded.rejects)
      yield* Effect.logInfo(`${file}: ${decoded.items.length} ${noun}${decoded.rejects.length > 0 ? `, ${decoded.rejects.length} malformed records skipped` : ""}`)
      progress.update({ done: i + 1, total: files.length, info: file })
    }
    return { items, rejects } satisfies SourceRecords<T>
  })

/**
 * Reads every JSON / JSONL file of `params.path` with the per-record `decode`; each item comes
 * with its source: the `source` param, else the file's base name.
 */
export const readRecordFiles = <T>(params: SourceParams & { readonly source?: string | undefined }, decode: (value: unknown) => T, noun: string) =>
  Effect.map(
    readSourceFiles(params, (file) => Effect.map(readText(file), (text) => decodeRecords(text, file, decode)), noun),
    ({ items, rejects }) => ({ items: items.map(({ item, file }) => ({ item, source: params.source ?? baseName(file) })), rejects })
  )
