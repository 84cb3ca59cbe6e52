/**
 * Test fixtures for the policy stages: a byte-level tokenizer, tiny GPTs (random, or trained for a
 * few steps), a hand-built reward model that rewards the letter "a", prompt/SFT tables, and a
 * runner for a stage's `run` with a chosen run seed.
 */
import type { AnyStage, Stage, Tables } from "@rlhf/core"
import { Progress, StageInfo, Table } from "@rlhf/core"
import * as ChatTemplate from "@rlhf/nn/ChatTemplate"
import * as Gpt from "@rlhf/nn/Gpt"
import * as Tokenizer from "@rlhf/nn/Tokenizer"
import * as Train from "@rlhf/nn/Train"
import * as TensorBackend from "@rlhf/nn/TensorBackend"
import * as Weights from "@rlhf/nn/Weights"
import * as tf from "@tensorflow/tfjs-core"
import { Cause, Effect, Exit, Layer, Schema } from "effect"
import { PolicyOptimizerRow } from "../../src/schemas/PolicyOptimizerRow.ts"
import { PromptRow } from "../../src/schemas/PromptRow.ts"
import { SftRow } from "../../src/schemas/SftRow.ts"
import { TokenizerRow } from "../../src/schemas/TokenizerRow.ts"
import { WeightsRow } from "../../src/schemas/WeightsRow.ts"

// Pick the tensor backend before any fixture makes a tensor (else tfjs's default, slower one
// would build them); the stages resolve the same, cached backend.
await TensorBackend.resolveBackend({ warn: () => {} })

/** The tiny architecture every fixture model uses (byte-level vocabulary). */
export const config: Gpt.Config = { vocabSize: 261, dModel: 16, nLayers: 1, nHeads: 2, contextLength: 24 }

/** The byte-level tokenizer as a table. */
export const tokenizerTable = (): Table.Table<typeof TokenizerRow> =>
  Effect.runSync(Table.fromArrow(TokenizerRow, Tokenizer.tokenizerToTable(Tokenizer.byteLevel())))

/** A model's weights as a table. */
export const weightsTable = (model: Gpt.Model): Table.Table<typeof WeightsRow> =>
  Effect.runSync(Table.fromArrow(WeightsRow, Weights.weightsToTable(model)))

/** A randomly initialised model's weights table (freed after). */
export const randomWeights = (head: Gpt.Head, seed: number, c: Gpt.Config = config): Table.Table<typeof WeightsRow> => {
  const model = Gpt.init(c, { head, seed })
  const table = weightsTable(model)
  Gpt.dispose(model)
  return table
}

/** A prompt table of single user turns. */
export const promptTable = (texts: ReadonlyArray<string>, source = "test"): Table.Table<typeof PromptRow> =>
  Table.make(PromptRow, texts.map((content) => ({ prompt: [{ role: "user", content }], source })))

/** An SFT table of single-turn demonstrations. */
export const sftTable = (pairs: ReadonlyArray<readonly [string, string]>): Table.Table<typeof SftRow> =>
  Table.make(SftRow, pairs.map(([content, response]) => ({ prompt: [{ role: "user", content }], response, source: "test" })))

/** An empty optimiser-state table. */
export const emptyOptimizer = (): Table.Table<typeof PolicyOptimizerRow> => Table.make(PolicyOptimizerRow, [])

/** Prompts without the letter "a", so the "a" reward model sees only the response's a's. */
export const toyPrompts = ["go", "more", "write", "type it", "list", "print", "echo", "do it"]

const LETTERS = ["a", "b", "c", "d"]

/** Toy SFT data: random strings over a, b, c, d (4–7 letters), seeded. */
export const toySft = (n: number, seed: number): Array<readonly [string, string]> => {
  let s = seed >>> 0
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296)
  return Array.from({ length: n }, (_, i) => {
    const len = 4 + Math.floor(next() * 4)
    return [toyPrompts[i % toyPrompts.length]!, Array.from({ length: len }, () => LETTERS[Math.floor(next() * 4)]).join("")] as const
  })
}

/** A small policy trained for `steps` SFT steps on {@link toySft} (it answers with a–d strings). */
export const toySftWeights = (steps: number, seed = 1): Table.Table<typeof WeightsRow> => {
  const tok = Tokenizer.byteLevel()
  const data = toySft(64, seed)
  const { examples } = ChatTemplate.formatExamples(tok, data.map(([content, response]) => ({ turns: [{ role: "user" as const, content }], response })), config.contextLength)
  const { model } = Train.sftLm(examples, config, { steps, batchSize: 16, lr: 1e-2, warmup: 2, seed, weightDecay: 0 })
  const table = weightsTable(model)
  Gpt.dispose(model)
  return table
}

/** Byte token id of a character. */
export const byteId = (ch: string): number => Tokenizer.BYTE_OFFSET + ch.charCodeAt(0)

/**
 * A hand-built reward model whose score rises with the share of "a" tokens in the sequence:
 * every block is the identity except that attention is uniform (zero queries and keys) and copies
 * LayerNorm'd embeddings (identity values and projection). Embeddings put "a" on dims 0/1 and
 * every other token on dims 2/3, so the last position's hidden state is the embedding average and
 * the head reads how much of it points along "a": score ≈ f / sqrt(f² + (1 − f)²) for a share f.
 */
export const letterRewardModel = (letter = "a"): Table.Table<typeof WeightsRow> => {
  const model = Gpt.init(config, { head: "reward", seed: 0 })
  const d = config.dModel
  const set = (name: string, fill: (values: Float32Array) => void) => {
    const v = model.params.get(name)!
    const values = new Float32Array(v.size)
    fill(values)
    tf.tidy(() => v.assign(tf.tensor(values, v.shape)))
  }
  for (const [name] of model.params) if (!name.endsWith(".gamma")) set(name, () => {})
  set("wte", (w) => {
    for (let t = 0; t < config.vocabSize; t++) {
      const on = t === byteId(letter)
      w[t * d + (on ? 0 : 2)] = 0.1
      w[t * d + (on ? 1 : 3)] = -0.1
    }
  })
  set("h.0.attn.w_qkv", (w) => { for (let i = 0; i < d; i++) w[i * 3 * d + 2 * d + i] = 1 }) // [D, 3D]: q = k = 0, v = x
  set("h.0.attn.w_proj", (w) => { for (let i = 0; i < d; i++) w[i * d + i] = 1 })
  set("reward_head.w", (w) => { w[0] = 1 / Math.sqrt(8) })
  const table = weightsTable(model)
  Gpt.dispose(model)
  return table
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Inputs<S extends AnyStage> = S extends Stage.Stage<infer I, any, any> ? Tables<I> : never
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Outputs<S extends AnyStage> = S extends Stage.Stage<any, infer O, any> ? Tables<O> : never

const effectOf = <S extends AnyStage>(stage: S, inputs: Inputs<S>, params: Record<string, unknown>, seed: number) =>
  stage.run({ inputs, params: Schema.decodeUnknownSync(stage.params)(params) }).pipe(
    Effect.provide(Layer.mergeAll(Progress.silent, StageInfo.test({ node: stage.name, seed })))
  ) as Effect.Effect<Outputs<S>, unknown, never>

/** Runs a stage's `run` with params decoded by its schema and the given run seed. */
export const run = <S extends AnyStage>(stage: S, inputs: Inputs<S>, params: Record<string, unknown> = {}, seed = 0): Promise<Outputs<S>> =>
  Effect.runPromise(effectOf(stage, inputs, params, seed))

/** Runs a stage that must fail and returns its typed failure (not a defect). */
export const runError = async <S extends AnyStage>(stage: S, inputs: Inputs<S>, params: Record<string, unknown> = {}): Promise<unknown> => {
  const exit = await Effect.runPromiseExit(effectOf(stage, inputs, params, 0))
  if (Exit.isSuccess(exit)) throw new Error(`stage ${stage.name} succeeded; expected it to fail`)
  const failure = exit.cause.reasons.find(Cause.isFailReason)
  if (failure === undefined) throw new Error(`stage ${stage.name} died instead of failing: ${Cause.pretty(exit.cause)}`)
  return failure.error
}

/** A table's Arrow IPC bytes (for byte-identity checks). */
export const bytes = (table: Table.Table): Uint8Array => Table.toIPC(table)

/** A table through Arrow IPC and back, as the store hands it to the next node. */
export const roundTrip = <S extends Table.Table>(table: S): S =>
  Effect.runSync(Table.fromIPC(table.rowSchema, Table.toIPC(table))) as S
