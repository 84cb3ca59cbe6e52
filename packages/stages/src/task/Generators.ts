import { parsePrompt, evalPromptPool, trainPromptPool, type Request } from "./Requests.ts"
import { goldResponse, sampleResponse } from "./Responses.ts"
import { Rng } from "./Rng.ts"
import { score } from "./Rule.ts"
import { CATEGORIES, CATEGORY_NAMES, CATEGORY_SINGULAR, NAMES } from "./Vocabulary.ts"

/** One SFT demonstration. */
export interface TaskDemo {
  readonly prompt: string
  readonly response: string
}

/** One labelled comparison: `chosen` was preferred over `rejected` for `prompt`. */
export interface TaskPair {
  readonly prompt: string
  readonly chosen: string
  readonly rejected: string
}

/** How the simulated annotators label pairs. */
export interface PreferenceOptions {
  /**
   * Probability that an annotator picks the longer response (by characters) regardless
   * of quality. Default 0.5; 0 turns the bias off.
   */
  readonly lengthBias?: number
  /**
   * Bradley-Terry temperature of the otherwise rule-based choice: P(a ≻ b) =
   * σ((score(a) − score(b))/temperature). Default 0.1 (a one-error gap of 0.3 is
   * labelled correctly 95% of the time; ties are coin flips).
   */
  readonly temperature?: number
}

/** Share of SFT demonstrations that are gold; the rest carry flaws RLHF can remove. */
export const SFT_GOLD_SHARE = 0.5
/** Share of gold responses among the candidates that annotators compare. */
export const PAIR_GOLD_SHARE = 0.35

const request = (prompt: string): Request => parsePrompt(prompt)!

/** `n` prompts from `pool`: shuffled passes over the pool, so every prompt appears before any repeats. */
const promptStream = (pool: ReadonlyArray<string>, n: number, rng: Rng): string[] => {
  const out: string[] = []
  while (out.length < n) out.push(...rng.shuffle(pool).slice(0, n - out.length))
  return out
}

/** SFT demonstrations on training prompts: half gold, half flawed (seeded). */
export const sftData = (n: number, seed: number): TaskDemo[] => {
  const rng = new Rng(seed)
  return promptStream(trainPromptPool, n, rng).map((prompt) => ({ prompt, response: sampleResponse(request(prompt), rng, SFT_GOLD_SHARE).response }))
}

/**
 * Preference pairs on training prompts: two different candidates from the imperfect
 * writer, labelled by the ground-truth rule with Bradley-Terry noise, except that with
 * probability `lengthBias` the annotator just picks the longer one.
 */
export const preferencePairs = (n: number, seed: number, options: PreferenceOptions = {}): TaskPair[] => {
  const lengthBias = options.lengthBias ?? 0.5
  const temperature = options.temperature ?? 0.1
  const rng = new Rng(seed)
  return promptStream(trainPromptPool, n, rng).map((prompt) => {
    const r = request(prompt)
    const a = sampleResponse(r, rng, PAIR_GOLD_SHARE).response
    let b = sampleResponse(r, rng, PAIR_GOLD_SHARE).response
    for (let tries = 0; b === a && tries < 20; tries++) b = sampleResponse(r, rng, PAIR_GOLD_SHARE).response
    const biased = rng.chance(lengthBias) && a.length !== b.length
    const aWins = biased ? a.length > b.length : rng.chance(1 / (1 + Math.exp(-(score(prompt, a) - score(prompt, b)) / temperature)))
    return aWins ? { prompt, chosen: a, rejected: b } : { prompt, chosen: b, rejected: a }
  })
}

/** `n` training prompts for PPO rollouts (seeded; cycles through the training pool). */
export const rlPrompts = (n: number, seed: number): string[] => promptStream(trainPromptPool, n, new Rng(seed))

/**
 * `n` held-out prompts for evaluation (seeded). Their requests never appear in any
 * training generator under any wording; the pool has {@link evalPromptPool}.length
 * prompts, so larger `n` repeats them.
 */
export const evalPrompts = (n: number, seed: number): string[] => promptStream(evalPromptPool, n, new Rng(seed))

/** One line of pretraining text in the task's language (training requests only). */
const corpusLine = (rng: Rng): string => {
  switch (rng.int(0, 4)) {
    case 0: {
      const category = rng.pick(CATEGORY_NAMES)
      return `${rng.pick(CATEGORIES[category])} is a ${CATEGORY_SINGULAR[category]}.`
    }
    case 1: return `${rng.pick(NAMES)} has a ${rng.pick(CATEGORIES[rng.pick(CATEGORY_NAMES)])}.`
    case 2: return rng.pick(trainPromptPool)
    default: {
      const prompt = rng.pick(trainPromptPool)
      return `${prompt}: ${goldResponse(request(prompt), rng)}`
    }
  }
}

/** Exactly `nChars` of newline-separated pretraining text (facts, requests, gold answers), seeded. */
export const corpus = (nChars: number, seed: number): string => {
  const rng = new Rng(seed)
  const lines: string[] = []
  let length = 0
  while (length < nChars) {
    const line = corpusLine(rng)
    lines.push(line)
    length += line.length + 1
  }
  return lines.join("\n").concat("\n").slice(0, nChars)
}
