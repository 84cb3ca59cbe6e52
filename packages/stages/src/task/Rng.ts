/**
 * A tiny seeded PRNG (mulberry32) so every task generator is deterministic by seed,
 * independent of Math.random and of any model-side RNG.
 */
export class Rng {
  private state: number

  constructor(seed: number) {
    // Mix the seed so nearby seeds give unrelated streams.
    this.state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: ReadonlyArray<T>): T {
    return items[Math.floor(this.next() * items.length)]!
  }

  /** An index drawn with probability proportional to `weights`. */
  weighted(weights: ReadonlyArray<number>): number {
    let u = this.next() * weights.reduce((a, w) => a + w, 0)
    for (let i = 0; i < weights.length; i++) if ((u -= weights[i]!) < 0) return i
    return weights.length - 1
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: ReadonlyArray<T>): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }
}

/** FNV-1a 32-bit hash of a string: a stable, platform-independent split key. */
export const fnv1a = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}
