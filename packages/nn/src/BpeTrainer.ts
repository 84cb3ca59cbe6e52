/**
 * Byte-level BPE training with incremental pair counts.
 *
 * Texts are split into pieces (Tokenizer.PIECE_PATTERN) and deduplicated with counts. Pair
 * counts are kept for the whole corpus together with, per pair, the pieces it occurs in; a merge
 * only revisits those pieces. The most frequent pair is found with a lazy max-heap (stale
 * entries are skipped when popped). Ties break on the smaller (left, right) ids, so training is
 * deterministic. (No npm library trains byte-level BPE offline in pure JS: the JS tokenizer
 * packages only load pretrained vocabularies.)
 */
import * as Tokenizer from "./Tokenizer.ts"

/** Options of {@link trainBpe}. */
export interface TrainOptions {
  /** Target vocabulary size including the 5 special and 256 byte tokens (>= 261). */
  readonly vocabSize: number
  /** Stop early when the best pair occurs fewer times than this (default 2). */
  readonly minFrequency?: number
}

const encoder = new TextEncoder()
const KEY = 0x100000
const key = (a: number, b: number) => a * KEY + b

// Max-heap on (count desc, key asc) stored as parallel arrays.
class PairHeap {
  private counts: number[] = []
  private keys: number[] = []
  get size() { return this.keys.length }
  private above(i: number, j: number) {
    return this.counts[i]! > this.counts[j]! || (this.counts[i] === this.counts[j] && this.keys[i]! < this.keys[j]!)
  }
  private swap(i: number, j: number) {
    ;[this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!]
    ;[this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!]
  }
  push(count: number, k: number) {
    this.counts.push(count), this.keys.push(k)
    for (let i = this.keys.length - 1; i > 0;) {
      const p = (i - 1) >> 1
      if (!this.above(i, p)) break
      this.swap(i, p), (i = p)
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.keys[0]!]
    const last = this.keys.length - 1
    this.swap(0, last), this.counts.pop(), this.keys.pop()
    for (let i = 0; ;) {
      const l = 2 * i + 1, r = l + 1
      let m = i
      if (l < last && this.above(l, m)) m = l
      if (r < last && this.above(r, m)) m = r
      if (m === i) break
      this.swap(i, m), (i = m)
    }
    return top
  }
}

/** Trains a byte-level BPE tokenizer on `texts`. */
export const trainBpe = (texts: Iterable<string>, options: TrainOptions): Tokenizer.Tokenizer => {
  if (options.vocabSize < Tokenizer.FIRST_MERGE) {
    throw new Error(`trainBpe: vocabSize ${options.vocabSize} is below ${Tokenizer.FIRST_MERGE} (5 special + 256 byte tokens)`)
  }
  const minFrequency = options.minFrequency ?? 2
  const pieceCounts = new Map<string, number>()
  for (const text of texts) {
    for (const m of text.matchAll(Tokenizer.PIECE_PATTERN)) pieceCounts.set(m[0], (pieceCounts.get(m[0]) ?? 0) + 1)
  }
  const words: number[][] = [], freq: number[] = []
  for (const [piece, n] of pieceCounts) {
    words.push(Array.from(encoder.encode(piece), (b) => b + Tokenizer.BYTE_OFFSET)), freq.push(n)
  }

  const pairCount = new Map<number, number>()
  const where = new Map<number, Set<number>>()
  const heap = new PairHeap()
  const touched = new Set<number>()
  const addPairs = (w: number, sign: 1 | -1) => {
    const syms = words[w]!
    for (let i = 0; i + 1 < syms.length; i++) {
      const k = key(syms[i]!, syms[i + 1]!)
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * freq[w]!)
      if (sign > 0) {
        let s = where.get(k)
        if (s === undefined) where.set(k, (s = new Set()))
        s.add(w)
      }
      touched.add(k)
    }
  }
  words.forEach((_, w) => addPairs(w, 1))
  for (const k of touched) heap.push(pairCount.get(k)!, k)
  touched.clear()

  const merges: Array<[number, number]> = []
  while (Tokenizer.FIRST_MERGE + merges.length < options.vocabSize && heap.size > 0) {
    const [count, k] = heap.pop()
    if (pairCount.get(k) !== count) continue // stale entry; the current count was pushed when it changed
    if (count < minFrequency) break
    const l = Math.floor(k / KEY), r = k % KEY, id = Tokenizer.FIRST_MERGE + merges.length
    merges.push([l, r])
    for (const w of where.get(k) ?? []) {
      addPairs(w, -1)
      const syms = words[w]!
      for (let i = 0; i + 1 < syms.length; i++) {
        if (syms[i] === l && syms[i + 1] === r) syms.splice(i, 2, id) // left to right, as Tokenizer.encode
      }
      addPairs(w, 1)
    }
    where.delete(k)
    for (const t of touched) {
      const c = pairCount.get(t)!
      if (c > 0) heap.push(c, t)
    }
    touched.clear()
  }
  return Tokenizer.fromMerges(merges)
}
