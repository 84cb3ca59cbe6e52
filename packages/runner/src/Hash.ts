/**
 * Content hashing: XXH3-128 (native, via @node-rs/xxhash) as 32 hex digits.
 */
import { xxh3 } from "@node-rs/xxhash"

/** The hex XXH3-128 of some bytes. */
export const hashBytes = (bytes: Uint8Array): string =>
  xxh3.xxh128(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString(16).padStart(32, "0")

/** The hex XXH3-128 of a string's UTF-8 bytes. */
export const hashString = (text: string): string => hashBytes(Buffer.from(text, "utf8"))

/**
 * Hashes an ordered list of labelled parts with a length-prefixed encoding, so that no two
 * different lists encode to the same bytes (`["ab","c"]` ≠ `["a","bc"]`).
 */
export const hashParts = (parts: ReadonlyArray<readonly [string, string]>): string => {
  const chunks: Buffer[] = []
  for (const [label, value] of parts) {
    for (const s of [label, value]) {
      const b = Buffer.from(s, "utf8")
      const len = Buffer.alloc(8)
      len.writeBigUInt64LE(BigInt(b.length))
      chunks.push(len, b)
    }
  }
  return hashBytes(Buffer.concat(chunks))
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("base64") }
    if (typeof v === "bigint") return { $bigint: v.toString() }
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
    }
    return v
  })
