/** Tiny tokenizer, model and preference tables for the reward-model stage tests. */
import { Table } from "@rlhf/core"
import * as nn from "@rlhf/nn"
import { Effect } from "effect"
import type { PreferencePair } from "../../src/preferences/PreferencePair.ts"
import { preferenceTable } from "../../src/schemas/PreferenceRow.ts"
import { TokenizerRow } from "../../src/schemas/TokenizerRow.ts"
import { WeightsRow } from "../../src/schemas/WeightsRow.ts"

/** A byte-level tokenizer as a table (vocabulary 261). */
export const tokenizerTable = () => Effect.runSync(Table.fromArrow(TokenizerRow, nn.Tokenizer.tokenizerToTable(nn.Tokenizer.byteLevel())))

/** A tiny fresh LM (the "SFT model") as a weights table. */
export const initTable = (config: Partial<nn.Gpt.Config> = {}) => {
  const model = nn.Gpt.init({ vocabSize: 261, dModel: 32, nLayers: 1, nHeads: 2, contextLength: 64, ...config }, { seed: 7 })
  const table = Effect.runSync(Table.fromArrow(WeightsRow, nn.Weights.weightsToTable(model)))
  nn.Gpt.dispose(model)
  return table
}

const WORDS = ["cat", "dog", "sun", "map", "red", "box", "tea", "pen", "car", "hat", "cup", "sky"]

// A small LCG: the fixture data must not depend on the code under test.
const lcg = (seed: number) => () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296

/**
 * Pairs with a learnable rule: the chosen response contains "yes", the rejected one "no!" in the
 * same place; otherwise the same random words, so lengths are equal and say nothing.
 */
export const keywordPairs = (n: number, seed = 1, source = "keyword"): PreferencePair[] => {
  const rand = lcg(seed)
  const pick = () => WORDS[Math.floor(rand() * WORDS.length)]!
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 3 + Math.floor(rand() * 3) }, pick)
    const at = Math.floor(rand() * (words.length + 1))
    const withWord = (w: string) => [...words.slice(0, at), w, ...words.slice(at)].join(" ")
    return {
      prompt: [{ role: "user" as const, content: `${pick()} ${pick()}?` }],
      chosen: withWord("yes"),
      rejected: withWord("no!"),
      source,
      annotator: null,
      category: null
    }
  })
}

/** A preference table of pairs. */
export const pairsTable = (pairs: ReadonlyArray<PreferencePair>) => preferenceTable(pairs)
