import { gunzipSync } from "node:zlib"

// How preference files are packaged, independent of the record format inside:
// optional gzip around either JSONL, a JSON array, or an Arrow IPC file/stream.

/** Gunzips when the bytes start with the gzip magic (1f 8b), so `.json` files that are really gzip still read. */
export const maybeGunzip = (bytes: Uint8Array): Uint8Array =>
  bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes

/** Arrow IPC: the file format starts with "ARROW1", the stream format with the 0xFFFFFFFF continuation marker. */
export const isArrowIpc = (bytes: Uint8Array): boolean => {
  const head = Buffer.from(bytes.subarray(0, 6)).toString("latin1")
  return head === "ARROW1" || (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff)
}

/**
 * One JSON record with the 1-based line it starts on; `error` when it does not parse, `fatal`
 * when the whole container is broken (a JSON array that does not parse) rather than one record.
 */
export type JsonRecord = { line: number; value: unknown } | { line: number; error: string; fatal?: true }

/**
 * Splits text into JSON records: a top-level JSON array gives its elements, anything else is
 * read as JSONL (blank lines ignored). A JSON array that does not parse is one error at the
 * position JSON.parse reports, since its elements cannot be told apart.
 */
export const jsonRecords = (text: string): JsonRecord[] => {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text // drop a UTF-8 BOM
  return body.trimStart().startsWith("[") ? arrayRecords(body) : lineRecords(body)
}

const lineRecords = (text: string): JsonRecord[] => {
  const out: JsonRecord[] = []
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) })
    } catch (e) {
      out.push({ line: i + 1, error: (e as Error).message })
    }
  })
  return out
}

const arrayRecords = (text: string): JsonRecord[] => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    const message = (e as Error).message
    const position = /position (\d+)/.exec(message)
    return [{ line: position ? lineOf(text, Number(position[1])) : 1, error: message, fatal: true }]
  }
  if (!Array.isArray(parsed)) return [{ line: 1, error: "expected a JSON array or JSON lines", fatal: true }]
  const lines = linesOf(text, elementStarts(text))
  return parsed.map((value, i) => ({ line: lines[i] ?? 1, value }))
}

/** Character offsets where each element of the top-level array starts (JSON.parse does not report them). */
const elementStarts = (text: string): number[] => {
  const starts: number[] = []
  let depth = 0
  let inString = false
  let expectValue = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === "\\") i++
      else if (c === '"') inString = false
      continue
    }
    if (c === " " || c === "\n" || c === "\r" || c === "\t") continue
    if (expectValue) {
      starts.push(i)
      expectValue = false
    }
    if (c === '"') inString = true
    else if (c === "[" || c === "{") {
      depth++
      if (depth === 1) expectValue = true
    } else if (c === "]" || c === "}") depth--
    else if (c === "," && depth === 1) expectValue = true
  }
  return starts
}

const lineOf = (text: string, offset: number): number => linesOf(text, [offset])[0] ?? 1

/** 1-based line numbers of ascending character offsets, in one pass over the text. */
const linesOf = (text: string, offsets: number[]): number[] => {
  const lines: number[] = []
  let line = 1
  let i = 0
  for (const offset of offsets) {
    for (; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++
    lines.push(line)
  }
  return lines
}
