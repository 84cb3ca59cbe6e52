import { xxh32 } from "@node-rs/xxhash"

/** How text is cut into shingles: overlapping runs of characters (works for Chinese) or of words. */
export type ShingleUnit = "char" | "word"

/**
 * The sorted, distinct 32-bit hashes of a text's shingles: runs of `size` UTF-16 code units
 * (characters, for all but astral ones) or of `size` space-separated words. A text shorter than
 * one shingle is a single shingle. `field` seeds the hash, so that the same words in the prompt
 * and in a response count as different shingles. Hashing is FNV-1a inline rather than
 * xxhash: shingles are a few bytes, where a native call costs ~4× the whole hash.
 */
export const shingleHashes = (text: string, size: number, unit: ShingleUnit, field = 0): Uint32Array => {
  const units = unit === "char" ? charCodes(text) : Uint32Array.from(text.split(" ").filter((w) => w !== ""), (w) => fnv1a(charCodes(w), 0, w.length, 0))
  const hashes = new Set<number>()
  const basis = Math.imul(field, 0x9e3779b9)
  const count = units.length === 0 ? 0 : Math.max(1, units.length - size + 1)
  for (let i = 0; i < count; i++) hashes.add(fnv1a(units, i, Math.min(size, units.length - i), basis))
  return Uint32Array.from(hashes).sort()
}

const charCodes = (text: string): Uint16Array => {
  const codes = new Uint16Array(text.length)
  for (let i = 0; i < text.length; i++) codes[i] = text.charCodeAt(i)
  return codes
}

/** 32-bit FNV-1a over `length` values from `start`, its offset basis perturbed by `basis`. */
const fnv1a = (values: ArrayLike<number>, start: number, length: number, basis: number): number => {
  let h = (0x811c9dc5 ^ basis) >>> 0
  for (let k = start; k < start + length; k++) h = Math.imul(h ^ values[k]!, 0x01000193)
  return h >>> 0
}

/** Union of sorted hash sets (pair text is three fields' shingles together). */
export const unionSorted = (sets: ReadonlyArray<Uint32Array>): Uint32Array => {
  const all = new Uint32Array(sets.reduce((n, s) => n + s.length, 0))
  let offset = 0
  for (const s of sets) (all.set(s, offset), offset += s.length)
  all.sort()
  let distinct = 0
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[distinct - 1]) all[distinct++] = all[i]!
  return all.subarray(0, distinct)
}

/** Exact Jaccard similarity |A∩B| / |A∪B| of two sorted distinct hash sets (1 for two empty sets). */
export const jaccard = (a: Uint32Array, b: Uint32Array): number => {
  let i = 0
  let j = 0
  let common = 0
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) (common++, i++, j++)
    else if (a[i]! < b[j]!) i++
    else j++
  }
  const union = a.length + b.length - common
  return union === 0 ? 1 : common / union
}

/** murmur3's 32-bit finaliser: a bijection on 32-bit integers with good avalanche. */
const fmix32 = (x: number): number => {
  let h = x ^ (x >>> 16)
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * MinHash signature with `numPerm` hash functions. Each function is fmix32(h XOR key_i), a
 * seeded permutation of the 32-bit space, which avoids re-hashing every shingle string
 * numPerm times. Same seed, same signature.
 */
export const minHashSignature = (hashes: Uint32Array, numPerm: number, seed: number): Uint32Array => {
  const keys = permutationKeys(numPerm, seed)
  const signature = new Uint32Array(numPerm).fill(0xffffffff)
  for (const h of hashes) {
    for (let p = 0; p < numPerm; p++) {
      const v = fmix32(h ^ keys[p]!)
      if (v < signature[p]!) signature[p] = v
    }
  }
  return signature
}

const keyCache = new Map<string, Uint32Array>()
const permutationKeys = (numPerm: number, seed: number): Uint32Array => {
  const id = `${numPerm}:${seed}`
  let keys = keyCache.get(id)
  if (keys === undefined) {
    keys = Uint32Array.from({ length: numPerm }, (_, p) => xxh32(`minhash-permutation-${p}`, seed >>> 0))
    keyCache.set(id, keys)
  }
  return keys
}
