/**
 * Byte-level BPE tokenizer (GPT-2 style): text is split into pieces by a pre-tokenising regex,
 * each piece is UTF-8 encoded and its bytes are merged by learned pair merges. Every string of
 * well-formed Unicode round-trips (lone surrogates cannot be UTF-8 encoded and become U+FFFD).
 *
 * Id layout (fixed, independent of the vocabulary size):
 *   0 <|endoftext|>, 1 <|pad|>, 2 <|user|>, 3 <|assistant|>, 4 <|system|>,
 *   5 .. 260 the 256 bytes (id = 5 + byte), 261 .. the merges in rank order.
 */
import * as arrow from "apache-arrow"
import { makeTable } from "./ArrowTable.ts"

/** Special tokens in id order. */
export const SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>", "<|user|>", "<|assistant|>", "<|system|>"] as const
/** Ids of the special tokens. */
export const EOT = 0, PAD = 1, USER = 2, ASSISTANT = 3, SYSTEM = 4
/** Id of byte 0; byte b has id BYTE_OFFSET + b. */
export const BYTE_OFFSET = SPECIAL_TOKENS.length
/** Id of the first merge. */
export const FIRST_MERGE = BYTE_OFFSET + 256

/** GPT-2's pre-tokeniser: contractions, letter runs, digit runs, other symbols, whitespace. */
export const PIECE_PATTERN = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu

/** A trained (or byte-only) tokenizer. */
export interface Tokenizer {
  readonly vocabSize: number
  /** Merge i joins merges[i] = [left, right] into id FIRST_MERGE + i. */
  readonly merges: ReadonlyArray<readonly [number, number]>
  /** Encodes text; special token strings become their ids unless `allowSpecial` is false. */
  readonly encode: (text: string, options?: { allowSpecial?: boolean }) => Int32Array
  /** Decodes ids (special tokens decode to their strings; invalid UTF-8 to U+FFFD). */
  readonly decode: (ids: ArrayLike<number>) => string
  /** The bytes a token stands for (a special token: its UTF-8 string). */
  readonly tokenBytes: (id: number) => Uint8Array
}

const encoder = new TextEncoder()
const SPECIAL_SPLIT = new RegExp(`(${SPECIAL_TOKENS.map((s) => s.replace(/[|]/g, "\\|")).join("|")})`)
const pairKey = (a: number, b: number) => a * 0x100000 + b

/** Builds a tokenizer from its merge list (as produced by `trainBpe`). */
export const fromMerges = (merges: ReadonlyArray<readonly [number, number]>): Tokenizer => {
  const vocabSize = FIRST_MERGE + merges.length
  const bytes: Uint8Array[] = SPECIAL_TOKENS.map((s) => encoder.encode(s))
  for (let b = 0; b < 256; b++) bytes.push(Uint8Array.of(b))
  const rank = new Map<number, number>()
  merges.forEach(([l, r], i) => {
    if (!(l < FIRST_MERGE + i && r < FIRST_MERGE + i && l >= BYTE_OFFSET && r >= BYTE_OFFSET)) {
      throw new Error(`Tokenizer merge ${i} (${l}, ${r}) refers to a special token or a later merge`)
    }
    const joined = new Uint8Array(bytes[l]!.length + bytes[r]!.length)
    joined.set(bytes[l]!), joined.set(bytes[r]!, bytes[l]!.length)
    bytes.push(joined)
    rank.set(pairKey(l, r), i)
  })

  // Apply merges to one piece, lowest rank first (as GPT-2).
  const cache = new Map<string, number[]>()
  const encodePiece = (piece: string): number[] => {
    const hit = cache.get(piece)
    if (hit !== undefined) return hit
    const syms = Array.from(encoder.encode(piece), (b) => b + BYTE_OFFSET)
    for (;;) {
      let best = -1, at = -1
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = rank.get(pairKey(syms[i]!, syms[i + 1]!))
        if (r !== undefined && (best < 0 || r < best)) best = r, at = i
      }
      if (best < 0) break
      const [l, r] = merges[best]!
      for (let i = at; i + 1 < syms.length; i++) {
        if (syms[i] === l && syms[i + 1] === r) syms.splice(i, 2, FIRST_MERGE + best)
      }
    }
    if (cache.size < 100_000) cache.set(piece, syms)
    return syms
  }

  const encodeOrdinary = (text: string, out: number[]) => {
    for (const m of text.matchAll(PIECE_PATTERN)) for (const id of encodePiece(m[0])) out.push(id)
  }

  const encode = (text: string, options: { allowSpecial?: boolean } = {}): Int32Array => {
    const out: number[] = []
    if (options.allowSpecial === false) encodeOrdinary(text, out)
    else {
      for (const part of text.split(SPECIAL_SPLIT)) {
        const special = (SPECIAL_TOKENS as ReadonlyArray<string>).indexOf(part)
        if (special >= 0) out.push(special)
        else encodeOrdinary(part, out)
      }
    }
    return Int32Array.from(out)
  }

  const tokenBytes = (id: number): Uint8Array => {
    const b = bytes[id]
    if (b === undefined) throw new Error(`Tokenizer: id ${id} is outside the vocabulary (size ${vocabSize})`)
    return b
  }

  const decode = (ids: ArrayLike<number>): string => {
    const parts = Array.from(ids, tokenBytes)
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let o = 0
    for (const p of parts) all.set(p, o), (o += p.length)
    return new TextDecoder().decode(all)
  }

  return { vocabSize, merges, encode, decode, tokenBytes }
}

/** A tokenizer with no merges: one token per UTF-8 byte (vocabulary 261). */
export const byteLevel = (): Tokenizer => fromMerges([])

/**
 * Arrow form, one row per token: `id` (Int32), `kind` (Utf8: "special" | "byte" | "merge"),
 * `bytes` (Binary: the token's bytes), `left` / `right` (Int32: the merged pair, -1 if not a merge).
 * Merge rank = id order. Schema metadata: `format` = "rlhf-bpe-v1".
 */
export const tokenizerToTable = (tok: Tokenizer): arrow.Table => {
  const n = tok.vocabSize
  const ids = Int32Array.from({ length: n }, (_, i) => i)
  const left = new Int32Array(n).fill(-1), right = new Int32Array(n).fill(-1)
  tok.merges.forEach(([l, r], i) => ((left[FIRST_MERGE + i] = l), (right[FIRST_MERGE + i] = r)))
  const kind = Array.from(ids, (i) => (i < BYTE_OFFSET ? "special" : i < FIRST_MERGE ? "byte" : "merge"))
  const bytes = Array.from(ids, (i) => tok.tokenBytes(i))
  return makeTable(
    [
      ["id", arrow.makeVector(ids).data[0]!],
      ["kind", arrow.vectorFromArray(kind, new arrow.Utf8()).data[0]!],
      ["bytes", arrow.vectorFromArray(bytes, new arrow.Binary()).data[0]!],
      ["left", arrow.makeVector(left).data[0]!],
      ["right", arrow.makeVector(right).data[0]!]
    ],
    { format: "rlhf-bpe-v1" }
  )
}

/** Rebuilds a tokenizer from {@link tokenizerToTable}'s table, checking its layout. */
export const tokenizerFromTable = (table: arrow.Table): Tokenizer => {
  if (table.schema.metadata.get("format") !== "rlhf-bpe-v1") {
    throw new Error(`tokenizerFromTable: schema metadata format is ${table.schema.metadata.get("format")}, expected rlhf-bpe-v1`)
  }
  const col = (name: string) => {
    const c = table.getChild(name)
    if (c === null) throw new Error(`tokenizerFromTable: missing column ${name}`)
    return c
  }
  const id = col("id"), left = col("left"), right = col("right"), kind = col("kind")
  const merges: Array<[number, number]> = []
  for (let row = 0; row < table.numRows; row++) {
    if (id.get(row) !== row) throw new Error(`tokenizerFromTable: row ${row} has id ${id.get(row)}; rows must be in id order`)
    if (row < BYTE_OFFSET && kind.get(row) !== "special") throw new Error(`tokenizerFromTable: id ${row} must be a special token`)
    if (row >= FIRST_MERGE) merges.push([left.get(row) as number, right.get(row) as number])
  }
  return fromMerges(merges)
}
