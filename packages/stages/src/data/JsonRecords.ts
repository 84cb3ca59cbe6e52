/**
 * Decoding JSON / JSONL files record by record with a per-record decoder, collecting the
 * malformed records instead of throwing, so a stage can fail on the first or skip them all.
 */
import { jsonRecords } from "../preferences/Container.ts"
import { FieldError } from "../preferences/ParseError.ts"
import type { Reject } from "../preferences/Readers.ts"
import { RecordError } from "./DataErrors.ts"

/** What decoding a file gave: items in file order, malformed records, and a fatal error if the file as a whole is broken. */
export type Decoded<T> = { items: T[]; rejects: Reject[]; fatal?: Reject }

/**
 * Decodes every record of a JSON array or JSONL text with `decode`, which throws FieldError for
 * a malformed record. `file` names the file in rejects.
 */
export const decodeRecords = <T>(text: string, file: string, decode: (value: unknown) => T): Decoded<T> => {
  const out: Decoded<T> = { items: [], rejects: [] }
  for (const record of jsonRecords(text)) {
    if ("error" in record) {
      const reject = { file, line: record.line, field: "(json)", reason: record.error }
      if (record.fatal === true) return { ...out, fatal: reject }
      out.rejects.push(reject)
      continue
    }
    try {
      out.items.push(decode(record.value))
    } catch (e) {
      if (!(e instanceof FieldError)) throw e
      out.rejects.push({ file, line: record.line, field: e.field, reason: e.reason })
    }
  }
  return out
}

/**
 * Fails with the first malformed record unless `skipInvalid` (a fatal error fails either way);
 * otherwise gives the rejects to report.
 */
export const settleRejects = (node: string, skipInvalid: boolean, rejects: ReadonlyArray<Reject>, fatal?: Reject): RecordError | undefined => {
  if (fatal !== undefined) return new RecordError({ node, ...fatal, fatal: true })
  const first = rejects[0]
  return !skipInvalid && first !== undefined ? new RecordError({ node, ...first, fatal: false }) : undefined
}
