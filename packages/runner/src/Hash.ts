/**
 * Content hashing: XXH3-128 (native, via @node-rs/xxhash) as 32 hex digits.
 */
import { xxh3 } from "@node-rs/xxhash"

/**
 * XXH3's default secret (XXH3_kSecret, 192 bytes). XXH3-128 with this secret and no seed is, by
 * definition, plain XXH3-128; @node-rs/xxhash computes its seedless `xxh128` with xxhash-rust's
 * `const fn` variant (scalar, about 2 GB/s) but `xxh128WithSecret` with the SIMD one (over 20 GB/s),
 * so passing the default secret gives the same hashes an order of magnitude faster.
 */
const DEFAULT_SECRET = Uint8Array.from([
  0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
  0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
  0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
  0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
  0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
  0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
  0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
  0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
  0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
  0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
  0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
  0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e
])

/** Plain XXH3-128, the reference the fast path must agree with (and the fallback if it ever does not). */
export const xxh128Reference = (bytes: Uint8Array): bigint => xxh3.xxh128(bytes)

/**
 * Whether the secret path agrees with plain XXH3-128 on this build of the addon: checked once, on
 * inputs that take each of XXH3's length paths (short, mid-size, and long with a partial stripe),
 * so a changed addon can never change a content address, only make hashing slower.
 */
const secretPathAgrees = (() => {
  const probe = Uint8Array.from({ length: 2048 + 13 }, (_, i) => (i * 131 + 7) & 0xff)
  return [0, 3, 16, 100, 240, 241, 1024, probe.length].every((n) => {
    const x = probe.subarray(0, n)
    return xxh3.xxh128WithSecret(x, DEFAULT_SECRET) === xxh3.xxh128(x)
  })
})()

const xxh128: (bytes: Uint8Array) => bigint = secretPathAgrees
  ? (bytes) => xxh3.xxh128WithSecret(bytes, DEFAULT_SECRET)
  : xxh128Reference

/** The hex XXH3-128 of some bytes. */
export const hashBytes = (bytes: Uint8Array): string => xxh128(bytes).toString(16).padStart(32, "0")

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
