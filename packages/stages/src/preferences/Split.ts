import { xxh64 } from "@node-rs/xxhash"
import { promptKey } from "./Normalize.ts"
import type { PreferencePair } from "./PreferencePair.ts"

/** Options of splitByPrompt. */
export type SplitOptions = {
  /** Expected share of prompt groups that go to validation, in [0, 1]. */
  validationFraction: number
  /** Seeds the assignment (default 0). */
  seed?: number
  /**
   * The group a pair belongs to (default: promptKey, the normalised prompt). Pass conversationKey
   * to keep every turn of one conversation on one side (Open-Assistant paths share their root).
   */
  groupBy?: (pair: PreferencePair) => string
}

/** The two sides of a split, each in input order. */
export type SplitResult = { train: PreferencePair[]; validation: PreferencePair[] }

/**
 * Seeded train/validation split by prompt: all pairs of one prompt land on the same side, so
 * validation measures generalisation to unseen prompts. A group goes to validation when a
 * seeded 64-bit hash of its key, read as a fraction of 2^64, falls below validationFraction.
 * Each group's side depends only on its key and the seed, so adding or removing pairs never
 * moves other pairs across.
 */
export const splitByPrompt = (pairs: ReadonlyArray<PreferencePair>, options: SplitOptions): SplitResult => {
  const { validationFraction, seed = 0, groupBy = (p: PreferencePair) => promptKey(p.prompt) } = options
  if (!(validationFraction >= 0 && validationFraction <= 1)) {
    throw new Error(`splitByPrompt: validationFraction must be in [0, 1], got ${validationFraction}`)
  }
  const result: SplitResult = { train: [], validation: [] }
  const sideOf = new Map<string, boolean>() // prompts repeat: hash each key once
  for (const pair of pairs) {
    const key = groupBy(pair)
    let validation = sideOf.get(key)
    if (validation === undefined) sideOf.set(key, (validation = hashFraction(key, seed) < validationFraction))
    ;(validation ? result.validation : result.train).push(pair)
  }
  return result
}

/** A seeded hash of a key as a number in [0, 1), from its top 53 bits. */
export const hashFraction = (key: string, seed: number): number =>
  Number(xxh64(key, BigInt.asUintN(64, BigInt(seed))) >> 11n) / 2 ** 53

/** Group key of a conversation: its system turns and first user turn, normalised. */
export const conversationKey = (pair: PreferencePair): string => {
  const firstUser = pair.prompt.findIndex((t) => t.role === "user")
  return promptKey(firstUser < 0 ? pair.prompt : pair.prompt.slice(0, firstUser + 1))
}
