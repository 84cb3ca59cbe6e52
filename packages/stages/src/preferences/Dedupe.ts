import { LshIndex, optimalBands } from "./Lsh.ts"
import type { ShingleUnit } from "./MinHash.ts"
import { jaccard, minHashSignature, shingleHashes, unionSorted } from "./MinHash.ts"
import { normalizeText, pairKey, promptKey } from "./Normalize.ts"
import { edgesInCycles } from "./PreferenceCycles.ts"
import type { PreferencePair } from "./PreferencePair.ts"

/** Why dedupe dropped a pair. */
export type DropReason = "exact-duplicate" | "near-duplicate" | "tie" | "cycle" | "short-prompt"

/** A dropped pair, its input `index`, and for duplicates the input index of the earlier pair it repeats. */
export type DroppedPair = PreferencePair & { reason: DropReason; index: number; duplicateOf?: number }

/** Options of dedupe; every one has a default. */
export type DedupeOptions = {
  /** Shingle Jaccard that prompt, chosen and rejected must each reach for a near-duplicate (default 0.9; above 1 disables). */
  nearDuplicateThreshold?: number
  /** Pairs whose normalised prompt (all turns) has fewer characters are dropped (default 1: empty prompts). */
  minPromptChars?: number
  /** Shingle length in characters or words (default 5). */
  shingleSize?: number
  /** "char" (default; works for Chinese) or "word". */
  shingleUnit?: ShingleUnit
  /** MinHash permutations (default 128). */
  numPerm?: number
  /** Seeds the MinHash permutations (default 0). */
  seed?: number
}

/** What dedupe returns: surviving pairs in input order, dropped pairs with reasons, and counts per reason. */
export type DedupeResult = { kept: PreferencePair[]; dropped: DroppedPair[]; counts: Record<DropReason, number> }

/**
 * Cleans preference pairs. Checks run in this order and a pair is dropped for the first that
 * applies: short prompt; tie (chosen equals rejected after normalisation); exact duplicate of an
 * earlier pair (normalised prompt, chosen and rejected); near-duplicate of an earlier kept pair
 * (MinHash/LSH candidates confirmed by exact Jaccard of each part's shingles; see nearDuplicateFinder); then, among what is
 * left, pairs inside a preference cycle among the responses to one prompt. The first occurrence
 * of a duplicate is kept. Deterministic for given options.
 */
export const dedupe = (pairs: ReadonlyArray<PreferencePair>, options: DedupeOptions = {}): DedupeResult => {
  const threshold = options.nearDuplicateThreshold ?? 0.9
  const minPromptChars = options.minPromptChars ?? 1
  const near = nearDuplicateFinder(threshold, options)
  const reasons = new Map<number, { reason: DropReason; duplicateOf?: number }>()
  const firstOf = new Map<string, number>()
  pairs.forEach((pair, i) => {
    const promptChars = pair.prompt.reduce((n, t) => n + Array.from(normalizeText(t.content)).length, 0)
    if (promptChars < minPromptChars) return reasons.set(i, { reason: "short-prompt" })
    if (normalizeText(pair.chosen) === normalizeText(pair.rejected)) return reasons.set(i, { reason: "tie" })
    const key = pairKey(pair)
    const earlier = firstOf.get(key)
    if (earlier !== undefined) return reasons.set(i, { reason: "exact-duplicate", duplicateOf: earlier })
    firstOf.set(key, i)
    const similar = near(i, pair)
    if (similar !== undefined) return reasons.set(i, { reason: "near-duplicate", duplicateOf: similar })
    return undefined
  })
  for (const i of cyclicPairs(pairs, (i) => !reasons.has(i))) reasons.set(i, { reason: "cycle" })

  const result: DedupeResult = { kept: [], dropped: [], counts: { "exact-duplicate": 0, "near-duplicate": 0, tie: 0, cycle: 0, "short-prompt": 0 } }
  pairs.forEach((pair, index) => {
    const why = reasons.get(index)
    if (why === undefined) return result.kept.push(pair)
    result.counts[why.reason]++
    return result.dropped.push({ ...pair, index, ...why })
  })
  return result
}

/**
 * A stateful check "is pair i a near-duplicate of an earlier kept pair?" that indexes i when it
 * is not. Near-duplicate means every part (prompt, chosen, rejected) has shingle Jaccard at or
 * above the threshold with the same part of the other pair: whole-text similarity alone would
 * call "A > B" and "A > C" duplicates whenever a long prompt and A dominate the text, though they
 * are different judgements. LSH runs on the whole pair's shingles (each part under its own hash
 * seed), whose Jaccard is at least the smallest part's, so it finds every such candidate.
 */
const nearDuplicateFinder = (threshold: number, options: DedupeOptions) => {
  if (threshold > 1) return () => undefined
  const { shingleSize = 5, shingleUnit = "char", numPerm = 128, seed = 0 } = options
  const index = new LshIndex(optimalBands(threshold, numPerm))
  const parts = new Map<number, Uint32Array[]>()
  return (i: number, pair: PreferencePair): number | undefined => {
    const texts = [pair.prompt.map((t) => `${t.role}: ${t.content}`).join("\n"), pair.chosen, pair.rejected]
    const sets = texts.map((text, f) => shingleHashes(normalizeText(text), shingleSize, shingleUnit, f))
    const signature = minHashSignature(unionSorted(sets), numPerm, seed)
    const similar = (j: number) => parts.get(j)!.every((other, f) => jaccard(sets[f]!, other) >= threshold)
    const match = index.candidates(signature).find(similar)
    if (match !== undefined) return match
    parts.set(i, sets)
    index.add(i, signature)
    return undefined
  }
}

/** Indices (among those `alive`) of pairs inside a preference cycle among one prompt's responses. */
const cyclicPairs = (pairs: ReadonlyArray<PreferencePair>, alive: (i: number) => boolean): number[] => {
  const byPrompt = new Map<string, number[]>()
  pairs.forEach((pair, i) => {
    if (!alive(i)) return
    const key = promptKey(pair.prompt)
    const members = byPrompt.get(key)
    if (members === undefined) byPrompt.set(key, [i])
    else members.push(i)
  })
  const out: number[] = []
  for (const members of byPrompt.values()) {
    if (members.length < 2) continue
    const edges = members.map((i) => ({ winner: normalizeText(pairs[i]!.chosen), loser: normalizeText(pairs[i]!.rejected) }))
    edgesInCycles(edges).forEach((inCycle, k) => inCycle && out.push(members[k]!))
  }
  return out
}
