/**
 * Cutting plain text (and JSON collections of texts) into documents for a pretraining corpus.
 */

/** How a text file is cut into documents. */
export type SplitMode = "paragraphs" | "lines" | "file"

/** Documents of a text: blocks between blank lines, single lines, or the whole file; trimmed of surrounding blank lines, empty ones dropped. */
export const splitDocuments = (text: string, mode: SplitMode): string[] => {
  const normalized = text.replace(/\r\n?/g, "\n")
  const parts = mode === "file" ? [normalized] : normalized.split(mode === "lines" ? /\n/ : /\n[ \t]*\n/)
  return parts.map((p) => p.replace(/^\s*\n/, "").trimEnd()).filter((p) => p.trim() !== "")
}

/**
 * Cuts a document into pieces of at most `maxChars` code points (0: no limit), preferring to cut
 * after a newline, else after whitespace, in the later half of a piece; never inside a surrogate pair.
 */
export const chunkDocument = (doc: string, maxChars: number): string[] => {
  const chars = Array.from(doc)
  if (maxChars <= 0 || chars.length <= maxChars) return [doc]
  const out: string[] = []
  let start = 0
  while (chars.length - start > maxChars) {
    const end = start + maxChars
    const cut = lastBreak(chars, start + Math.ceil(maxChars / 2), end, "\n") ?? lastBreak(chars, start + Math.ceil(maxChars / 2), end, " ") ?? end
    out.push(chars.slice(start, cut).join(""))
    start = cut
  }
  out.push(chars.slice(start).join(""))
  return out.filter((p) => p.trim() !== "")
}

/** The position just after the last `mark` in chars[from, to), if any. */
const lastBreak = (chars: ReadonlyArray<string>, from: number, to: number, mark: string): number | undefined => {
  for (let i = to - 1; i >= from; i--) if (chars[i] === mark) return i + 1
  return undefined
}

const stringList = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string") ? value : undefined

/**
 * Documents of a JSON collection of texts such as chinese-poetry: every object with a
 * `paragraphs` or `content` list of strings is one document, its lines joined by newlines;
 * other arrays and objects are searched recursively, in order.
 */
export const jsonDocuments = (value: unknown): string[] => {
  if (Array.isArray(value)) return value.flatMap(jsonDocuments)
  if (typeof value !== "object" || value === null) return []
  const record = value as Record<string, unknown>
  const lines = stringList(record["paragraphs"]) ?? stringList(record["content"])
  if (lines !== undefined) return [lines.join("\n")]
  return Object.values(record).flatMap(jsonDocuments)
}
