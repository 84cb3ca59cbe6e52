/**
 * Formats a table for `rlhf show`: an aligned text table, JSON lines or CSV.
 */
import type * as Arrow from "apache-arrow"

/** Output formats of `show`. */
export type ShowFormat = "table" | "jsonl" | "csv"

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return ""
  if (typeof v === "string") return v
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? Number(x) : x))
}

// Arrow values to plain JS: vectors to arrays, struct rows to objects, int64 to numbers.
const plain = (v: unknown): unknown => {
  if (v === null || v === undefined || typeof v !== "object") return typeof v === "bigint" ? Number(v) : v
  if (v instanceof Uint8Array) return v
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>)
  if (typeof (v as { toArray?: unknown }).toArray === "function") return Array.from((v as Arrow.Vector).toArray() as ArrayLike<unknown>, plain)
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") {
    return Object.fromEntries(Object.entries((v as { toJSON: () => object }).toJSON()).map(([k, x]) => [k, plain(x)]))
  }
  return v
}

const rowsOf = (arrow: Arrow.Table, limit: number): Array<Record<string, unknown>> =>
  Array.from({ length: Math.min(limit, arrow.numRows) }, (_, i) =>
    Object.fromEntries(arrow.schema.fields.map((f) => [f.name, plain(arrow.getChild(f.name)!.get(i))])))

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s)

/** Renders up to `limit` rows of an Arrow table. */
export const format = (arrow: Arrow.Table, fmt: ShowFormat, limit: number): string => {
  const names = arrow.schema.fields.map((f) => f.name)
  const rows = rowsOf(arrow, limit)
  if (fmt === "jsonl") return rows.map((r) => cell(r)).join("\n")
  if (fmt === "csv") return [names.join(","), ...rows.map((r) => names.map((n) => csvCell(cell(r[n]))).join(","))].join("\n")
  const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s).replaceAll("\n", "⏎")
  const cells = rows.map((r) => names.map((n) => clip(cell(r[n]))))
  const widths = names.map((n, i) => Math.max(n.length, ...cells.map((c) => c[i]!.length)))
  const line = (cs: string[]) => cs.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  const more = arrow.numRows > rows.length ? `\n… ${arrow.numRows - rows.length} more rows (--limit)` : ""
  return [line(names), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n") + more
}
