/**
 * `tokenizer-train`: trains the byte-level BPE tokenizer every model stage of a pipeline shares.
 */
import { Progress, Stage, StageInfo, Table } from "@rlhf/core"
import type * as Prng from "@rlhf/nn/Prng"
import { Effect, Schema } from "effect"
import { metric, MetricRow, metricsTable } from "../schemas/MetricRow.ts"
import { TextRow } from "../schemas/TextRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { attempt, intParam, stageSeed } from "./ModelStage.ts"

/** Params of tokenizer-train. */
export const TokenizerTrainParams = Schema.Struct({
  /** Target vocabulary: 5 special + 256 byte tokens + merges (fewer merges when pairs run out). */
  vocabSize: intParam(261, 512),
  /** Cap on the characters trained on; a larger corpus is sampled by whole documents (seeded). */
  maxChars: intParam(1, 2_000_000),
  /** A pair must occur this often to become a merge. */
  minFrequency: intParam(1, 2),
  seed: intParam(0, 0)
})

/** Characters measured for the bytes-per-token compression metric. */
const COMPRESSION_SAMPLE = 200_000

/**
 * The training text: all documents when they fit `maxChars`, else whole documents in a seeded
 * order until the budget is spent (the last one cut), so a capped corpus still covers all its
 * sources rather than only the first.
 */
export const sampleTexts = (texts: ReadonlyArray<string>, maxChars: number, seed: number, prng: typeof Prng): { texts: string[]; chars: number } => {
  const total = texts.reduce((n, t) => n + t.length, 0)
  if (total <= maxChars) return { texts: [...texts], chars: total }
  const rng = prng.make(seed)
  const order = texts.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  const out: string[] = []
  let chars = 0
  for (const i of order) {
    if (chars >= maxChars) break
    const text = texts[i]!.slice(0, maxChars - chars)
    out.push(text), (chars += text.length)
  }
  return { texts: out, chars }
}

/**
 * Trains a byte-level BPE tokenizer on the `texts` documents. Outputs the tokenizer table (the
 * columns and metadata of nn's `tokenizerToTable`) and metrics: documents, documentsUsed,
 * charsUsed, vocabSize, merges, and bytesPerToken on (a sample of) the training text.
 */
export const TokenizerTrain = Stage.make({
  name: "tokenizer-train",
  version: "1",
  description: "byte-level BPE tokenizer trained on a text corpus",
  inputs: { texts: TextRow },
  outputs: { tokenizer: TokenizerRow, metrics: MetricRow },
  params: TokenizerTrainParams,
  resources: { cpu: 1 },
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const progress = yield* Progress
      const { BpeTrainer, Prng, Tokenizer } = yield* Effect.promise(async () => ({
        BpeTrainer: await import("@rlhf/nn/BpeTrainer"),
        Prng: await import("@rlhf/nn/Prng"),
        Tokenizer: await import("@rlhf/nn/Tokenizer")
      }))
      const all = Table.columnValues(inputs.texts, "text")
      const sample = sampleTexts(all, params.maxChars, stageSeed(info.seed, params.seed), Prng)
      progress.update({ done: 0, total: 1, info: `training on ${sample.chars} chars` })
      const tok = yield* attempt(info.node, () => BpeTrainer.trainBpe(sample.texts, { vocabSize: params.vocabSize, minFrequency: params.minFrequency }))
      if (tok.vocabSize < params.vocabSize) {
        yield* Effect.logWarning(`only ${tok.merges.length} pairs occur at least ${params.minFrequency} times: vocabulary ${tok.vocabSize} < requested ${params.vocabSize}`)
      }
      const measured = sampleTexts(sample.texts, COMPRESSION_SAMPLE, 0, Prng).texts
      const bytes = measured.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0)
      const tokens = measured.reduce((n, t) => n + tok.encode(t, { allowSpecial: false }).length, 0)
      progress.update({ done: 1, total: 1, info: `vocabulary ${tok.vocabSize}` })
      const tokenizer = yield* Table.fromArrow(TokenizerRow, Tokenizer.tokenizerToTable(tok), "tokenizer")
      return {
        tokenizer,
        metrics: metricsTable([
          metric("documents", all.length),
          metric("documentsUsed", sample.texts.length),
          metric("charsUsed", sample.chars),
          metric("vocabSize", tok.vocabSize),
          metric("merges", tok.merges.length),
          metric("bytesPerToken", tokens === 0 ? 0 : bytes / tokens)
        ])
      }
    })
})
