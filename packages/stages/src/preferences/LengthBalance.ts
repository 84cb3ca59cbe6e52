import { xxh64 } from "@node-rs/xxhash"
import type { LengthStats } from "./LengthBias.ts"
import { lengthStatsOfDifferences } from "./LengthBias.ts"
import type { PreferencePair } from "./PreferencePair.ts"

/** Options of lengthBalance. */
export type LengthBalanceOptions = {
  /** Length of a response, usually in tokens. Called once per response. */
  length: (text: string) => number
  /**
   * Ascending lower edges of the buckets of |len(chosen) − len(rejected)|: [0, 10, 50] gives
   * [0, 10), [10, 50), [50, ∞). A first edge above 0 adds a bucket [0, first edge).
   */
  bucketEdges: ReadonlyArray<number>
  /** Seeds which pairs of the majority side a bucket keeps (default 0). */
  seed?: number
}

/** One bucket of the balancing report. */
export type LengthBucket = { lo: number; hi: number; longerWins: number; longerLoses: number; equalLength: number; kept: number }

/** What lengthBalance returns: kept pairs in input order and a before/after report. */
export type LengthBalanceResult = {
  kept: PreferencePair[]
  report: { before: LengthStats; after: LengthStats; buckets: LengthBucket[] }
}

/**
 * Bucket-based length balancing (ChatGLM-RLHF, Hou et al. 2024): a reward model trained on data
 * where longer answers usually win learns length instead of quality. Pairs are bucketed by the
 * length difference of their responses; within each bucket the larger of "longer wins" and
 * "longer loses" is downsampled to the size of the smaller, so that within every range of
 * length difference, length predicts nothing. Pairs of equal length carry no length signal and
 * are all kept. Which pairs survive depends only on `seed` and each pair's content, so
 * reordering the input does not change the selection.
 */
export const lengthBalance = (pairs: ReadonlyArray<PreferencePair>, options: LengthBalanceOptions): LengthBalanceResult => {
  const edges = bucketLowerEdges(options.bucketEdges)
  const diffs = pairs.map((p) => options.length(p.chosen) - options.length(p.rejected))
  const members = edges.map(() => ({ wins: [] as number[], loses: [] as number[], equal: [] as number[] }))
  diffs.forEach((d, i) => {
    const b = bucketOf(edges, Math.abs(d))
    const bucket = members[b]!
    ;(d > 0 ? bucket.wins : d < 0 ? bucket.loses : bucket.equal).push(i)
  })
  const seed = BigInt.asUintN(64, BigInt(options.seed ?? 0))
  const keep = new Set<number>()
  const buckets = members.map((m, b): LengthBucket => {
    const size = Math.min(m.wins.length, m.loses.length)
    for (const i of [...sample(m.wins, size, pairs, seed), ...sample(m.loses, size, pairs, seed), ...m.equal]) keep.add(i)
    return { lo: edges[b]!, hi: edges[b + 1] ?? Infinity, longerWins: m.wins.length, longerLoses: m.loses.length, equalLength: m.equal.length, kept: 2 * size + m.equal.length }
  })
  const kept = pairs.filter((_, i) => keep.has(i))
  return {
    kept,
    report: { before: lengthStatsOfDifferences(diffs), after: lengthStatsOfDifferences(diffs.filter((_, i) => keep.has(i))), buckets }
  }
}

const bucketLowerEdges = (given: ReadonlyArray<number>): number[] => {
  if (given.length === 0) throw new Error("lengthBalance: bucketEdges must not be empty; e.g. [0, 10, 50, 200]")
  given.forEach((e, i) => {
    if (!Number.isFinite(e) || e < 0 || (i > 0 && e <= given[i - 1]!)) {
      throw new Error(`lengthBalance: bucketEdges must be finite, non-negative and strictly ascending; got [${given.join(", ")}]`)
    }
  })
  return given[0] === 0 ? [...given] : [0, ...given]
}

/** Index of the last edge ≤ value (edges start at 0, value ≥ 0). */
const bucketOf = (edges: ReadonlyArray<number>, value: number): number => {
  let b = 0
  while (b + 1 < edges.length && edges[b + 1]! <= value) b++
  return b
}

/** The `size` members with the smallest seeded content hash (ties by index): a seeded sample that ignores input order. */
const sample = (indices: ReadonlyArray<number>, size: number, pairs: ReadonlyArray<PreferencePair>, seed: bigint): number[] => {
  if (size >= indices.length) return [...indices]
  const keyed = indices.map((i) => {
    const p = pairs[i]!
    return { i, key: xxh64(JSON.stringify([p.prompt, p.chosen, p.rejected]), seed) }
  })
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i))
  return keyed.slice(0, size).map((k) => k.i)
}
