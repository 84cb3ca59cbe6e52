/**
 * Which prompts a PPO round uses: round r takes the `batchSize` prompts at global positions
 * r·batchSize … (r+1)·batchSize − 1 of an endless stream made of shuffled passes over the prompt
 * table (pass e shuffled with a seed from (seed, e)). So the batch depends only on (seed, round,
 * batchSize, the table), every prompt is used once per pass, and no state has to be carried.
 */
import * as Prng from "@rlhf/nn/Prng"
import { mixSeed } from "./Seeds.ts"

const PASS_SALT = 0x70a55

/** The order of pass `pass` over `n` prompts (Fisher-Yates with a seed from (seed, pass)). */
export const passOrder = (n: number, seed: number, pass: number): number[] => {
  const rng = Prng.make(mixSeed(seed, PASS_SALT, pass))
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

/** Row indices of round `round`'s batch (0-based round) over a table of `n` prompts. */
export const roundBatch = (n: number, batchSize: number, round: number, seed: number): number[] => {
  if (n <= 0) throw new RangeError("roundBatch: the prompt table is empty; wire a prompts table with at least one row")
  const out: number[] = []
  const cache = new Map<number, number[]>()
  for (let k = round * batchSize; k < (round + 1) * batchSize; k++) {
    const pass = Math.floor(k / n)
    if (!cache.has(pass)) cache.set(pass, passOrder(n, seed, pass))
    out.push(cache.get(pass)![k % n]!)
  }
  return out
}
