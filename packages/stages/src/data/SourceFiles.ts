/**
 * What the source stages share: a `path` param naming one file or several, and reading those
 * files (relative to the directory the pipeline runs from) with errors that name them.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { StageInfo } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { maybeGunzip } from "../preferences/Container.ts"
import { DataFileError } from "./DataErrors.ts"

/** A `path` param: one file, or a non-empty list of files read in order into one table. */
export const PathParam = Schema.Union([Schema.String, Schema.Array(Schema.String).check(Schema.isMinLength(1))])

/** The files a `path` param names, in order. */
export const pathList = (p: string | ReadonlyArray<string>): ReadonlyArray<string> => (typeof p === "string" ? [p] : p)

/** One file's bytes (gunzipped when they start with the gzip magic), read against StageInfo.cwd. */
export const readBytes = (file: string): Effect.Effect<Uint8Array, DataFileError, StageInfo> =>
  Effect.gen(function*() {
    const info = yield* StageInfo
    return yield* Effect.try({
      try: () => new Uint8Array(fs.readFileSync(path.resolve(info.cwd, file))),
      catch: (e) => new DataFileError({ node: info.node, file, reason: (e as Error).message })
    })
  })

/** One file's text (UTF-8, gunzipped when compressed, a leading BOM dropped). */
export const readText = (file: string): Effect.Effect<string, DataFileError, StageInfo> =>
  Effect.map(readBytes(file), (bytes) => {
    const text = Buffer.from(maybeGunzip(bytes)).toString("utf8")
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  })
