/**
 * Seeds of the policy stages. Every random choice (sampling, minibatch order, PTX batches) draws
 * from a seed mixed from the run's seed, the stage's `seed` param and where it is (iteration,
 * round, epoch …), never from a generator carried across calls, so a resumed or re-run
 * iteration sees exactly the numbers an uninterrupted run saw.
 */

// murmur3's 32-bit finaliser: every input bit affects every output bit.
const fmix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** One uint32 seed from any integers (order matters; numbers beyond 32 bits are folded in whole). */
export const mixSeed = (...parts: ReadonlyArray<number>): number => {
  let h = 0x9e3779b9
  for (const p of parts) {
    const n = Math.trunc(p)
    const lo = n >>> 0, hi = Math.floor(n / 4294967296) >>> 0
    h = fmix((h ^ lo) + Math.imul(hi, 0x27d4eb2d))
  }
  return h
}

/** The seeds of one PPO round (step `step` of iteration `iteration`, both as the stages count them). */
export interface RoundSeeds {
  /** The iteration's seed, recorded in its state output. */
  readonly iteration: number
  /** Seed of the prompt stream (the same for every iteration, so passes over the prompts stay whole). */
  readonly prompts: number
  /** Seed of the round's sampling. */
  readonly generate: number
  /** Seed of the round's minibatch order and PTX batches. */
  readonly update: number
}

/** Seeds of a round from the run's seed, the stage's seed, the iteration (1-based) and the step in it (0-based). */
export const roundSeeds = (runSeed: number, stageSeed: number, iteration: number, step: number): RoundSeeds => {
  const it = mixSeed(runSeed, stageSeed, iteration)
  const round = mixSeed(it, step)
  return { iteration: it, prompts: mixSeed(runSeed, stageSeed), generate: mixSeed(round, 1), update: mixSeed(round, 2) }
}
