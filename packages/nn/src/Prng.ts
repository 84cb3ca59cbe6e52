/**
 * A small seeded pseudo-random generator (sfc32, seeded through splitmix32).
 *
 * Model init, batch sampling and token sampling use this instead of the tfjs RNG so that
 * results depend only on the seed, never on the backend or on other code drawing numbers.
 */
export interface Prng {
  /** Uniform float in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number
  /** Standard normal sample (Box–Muller). */
  readonly normal: () => number
}

/** Creates a generator; equal seeds give equal streams. */
export const make = (seed: number): Prng => {
  let s = seed >>> 0
  // splitmix32 expands one 32-bit seed into the four words of sfc32 state.
  const split = () => {
    s = (s + 0x9e3779b9) | 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = split(), b = split(), c = split(), d = split()
  const next = () => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const normal = () => {
    const u = 1 - next() // (0, 1]: keeps log finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next())
  }
  return { next, int, normal }
}
