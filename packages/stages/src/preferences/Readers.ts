import { readFileSync } from "node:fs"
import { basename } from "node:path"
import { decodeArrow } from "./ArrowFormat.ts"
import { isArrowIpc, jsonRecords, maybeGunzip } from "./Container.ts"
import type { PreferenceFormat } from "./DetectFormat.ts"
import { detectRecordFormat } from "./DetectFormat.ts"
import { decodeGeneric } from "./GenericFormat.ts"
import { decodeHh } from "./HhFormat.ts"
import { decodeOasst } from "./OasstFormat.ts"
import { FieldError, PreferenceParseError } from "./ParseError.ts"
import type { PreferencePair } from "./PreferencePair.ts"
import type { RecordDecoder, SourceContext } from "./RecordDecoder.ts"
import { decodeShareGpt } from "./ShareGptFormat.ts"

/** Options of readPreferences / parsePreferences. */
export type ReadOptions = {
  /** "auto" (default) detects Arrow by magic bytes and JSON formats from the first record's keys. */
  format?: PreferenceFormat | "auto"
  /** Skip malformed records and list them in `rejects` instead of throwing PreferenceParseError. */
  skipInvalid?: boolean
  /** Overrides the `source` of every pair; default: a record's own source, else the file's base name. */
  source?: string
}

/** A record skipped under skipInvalid. */
export type Reject = { file: string; line: number; field: string; reason: string }

/** What a reader returns: the pairs, and the records it skipped. */
export type ReadResult = { pairs: PreferencePair[]; rejects: Reject[] }

const decoders: Record<Exclude<PreferenceFormat, "arrow">, RecordDecoder> = {
  jsonl: decodeGeneric, hh: decodeHh, oasst: decodeOasst, sharegpt: decodeShareGpt
}

/**
 * Reads preference pairs from a file in any supported format, gzip-compressed or not.
 * Throws PreferenceParseError on the first malformed record unless `skipInvalid`; a file whose
 * format cannot be detected, or a JSON array that does not parse, throws even then, since no
 * record of it can be trusted.
 */
export const readPreferences = (path: string, options: ReadOptions = {}): ReadResult =>
  parsePreferences(readFileSync(path), path, options)

/** Like readPreferences over bytes already in memory; `file` names them in errors and gives the default source. */
export const parsePreferences = (raw: Uint8Array, file: string, options: ReadOptions = {}): ReadResult => {
  const bytes = maybeGunzip(raw)
  const context: SourceContext = options.source === undefined
    ? { source: baseName(file), recordMayOverride: true }
    : { source: options.source, recordMayOverride: false }
  const format = options.format ?? "auto"
  const result: ReadResult = { pairs: [], rejects: [] }
  const fail = (line: number, field: string, reason: string): void => {
    if (!options.skipInvalid) throw new PreferenceParseError({ file, line, field, reason })
    result.rejects.push({ file, line, field, reason })
  }
  if (format === "arrow" || (format === "auto" && isArrowIpc(bytes))) {
    try {
      for (const r of decodeArrow(bytes, context)) {
        if ("error" in r) fail(r.row + 1, r.error.field, r.error.reason)
        else result.pairs.push(...r.pairs)
      }
    } catch (e) {
      if (!(e instanceof FieldError)) throw e
      throw new PreferenceParseError({ file, line: 1, field: e.field, reason: e.reason })
    }
    return result
  }
  const records = jsonRecords(Buffer.from(bytes).toString("utf8"))
  if (records.length === 0) return result
  const fatal = records.find((r) => "error" in r && r.fatal)
  if (fatal !== undefined && "error" in fatal) throw new PreferenceParseError({ file, line: fatal.line, field: "(json)", reason: fatal.error })
  const decode = decoders[format === "auto" ? detect(records, file) : format]
  for (const record of records) {
    if ("error" in record) {
      fail(record.line, "(json)", record.error)
      continue
    }
    try {
      result.pairs.push(...decode(record.value, context))
    } catch (e) {
      if (!(e instanceof FieldError)) throw e
      fail(record.line, e.field, e.reason)
    }
  }
  return result
}

/** The format of the first record that parses. */
const detect = (records: ReturnType<typeof jsonRecords>, file: string): Exclude<PreferenceFormat, "arrow"> => {
  const first = records.find((r) => "value" in r)
  const format = first && "value" in first ? detectRecordFormat(first.value) : undefined
  if (format !== undefined) return format
  const keys = first && "value" in first && typeof first.value === "object" && first.value !== null ? Object.keys(first.value).join(", ") : "none"
  throw new PreferenceParseError({
    file, line: first?.line ?? 1, field: "(record)",
    reason: `cannot detect the preference format (keys: ${keys}); pass format: "jsonl" | "hh" | "oasst" | "sharegpt" | "arrow"`
  })
}

/** "dir/hh-rlhf.jsonl.gz" → "hh-rlhf": strips the known data extensions, however many are stacked. */
export const baseName = (file: string): string => {
  let name = basename(file)
  for (let prev = ""; prev !== name;) {
    prev = name
    name = name.replace(/\.(gz|gzip|jsonl|ndjson|json|arrow|arrows|feather|ipc)$/i, "")
  }
  return name
}
