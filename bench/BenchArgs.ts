/**
 * What the benchmarks share: `--name=value` arguments, a seeded uniform generator, the median,
 * and the model benchmark's fixed GPT config (also data-parallel's `--large`).
 */
import type * as Gpt from "@rlhf/nn/Gpt"

/** The value of `--name=value` on the command line, if given. */
export const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)

/** A seeded generator of uniform numbers in [0, 1). */
export const uniform = (seed: number) => () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 4294967296)

/** The median of `xs` (the mean of the middle two for an even count). */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b), k = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[k]! : (s[k - 1]! + s[k]!) / 2
}

/** The fixed config every framework is compared on: vocab 512, d_model 128, 4 layers, 4 heads, context 128. */
export const benchGpt: Gpt.Config = { vocabSize: 512, dModel: 128, nLayers: 4, nHeads: 4, contextLength: 128 }
