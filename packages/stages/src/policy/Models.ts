/**
 * Model plumbing shared by the policy stages: loading weights, tokenizers and optimiser state from
 * tables, encoding prompts, generating in batches, and reading log-probs, critic values and
 * rewards of (prompt, response) pairs. Every function frees the tensors it makes.
 *
 * This module loads TensorFlow.js: stage modules import it lazily, inside `run` (see Runtime.ts).
 */
import type { Table } from "@rlhf/core"
import * as AdamW from "@rlhf/nn/AdamW"
import * as ChatTemplate from "@rlhf/nn/ChatTemplate"
import * as Generate from "@rlhf/nn/Generate"
import * as Gpt from "@rlhf/nn/Gpt"
import * as LogProbs from "@rlhf/nn/LogProbs"
import * as Tokenizer from "@rlhf/nn/Tokenizer"
import * as Weights from "@rlhf/nn/Weights"
import * as tf from "@tensorflow/tfjs-core"
import * as Scoring from "../model/RewardScoring.ts"
import { checkedTurns } from "../schemas/PreferenceRow.ts"
import type { PolicyBaselineRow } from "../schemas/PolicyBaselineRow.ts"
import type { PolicyOptimizerRow } from "../schemas/PolicyOptimizerRow.ts"
import type { PromptRow } from "../schemas/PromptRow.ts"
import type { SftRow } from "../schemas/SftRow.ts"
import type { WeightsRow } from "../schemas/WeightsRow.ts"
import type { Sampling } from "./Params.ts"
import { lastUserText, promptKey, promptText, type Turns } from "./PromptKeys.ts"
import { mixSeed } from "./Seeds.ts"

/** A model from a weights table; throws naming the input when its head is not `head`. */
export const loadModel = (table: Table.Table<typeof WeightsRow>, input: string, head: Gpt.Head): Gpt.Model => {
  const model = Weights.loadWeights(table.arrow)
  if (model.head !== head) {
    Gpt.dispose(model)
    const from = head === "lm" ? "a pretrain, sft, dpo or ppo node" : head === "reward" ? "an rm-train node" : "a ppo-init or ppo-iteration node"
    throw new Error(`input '${input}' holds a model with head "${model.head}" but needs head "${head}"; wire the weights output of ${from}`)
  }
  return model
}

/** The tokenizer of a tokenizer table. */
export const loadTokenizer = (table: Table.Table): Tokenizer.Tokenizer => Tokenizer.tokenizerFromTable(table.arrow)

/** Frees models (skipping undefined). */
export const disposeModels = (...models: ReadonlyArray<Gpt.Model | undefined>): void => {
  for (const m of models) if (m !== undefined) Gpt.dispose(m)
}

/** An AdamW optimiser: restored from a state table, or fresh (with `config`) when the table is empty. */
export const loadOptimizer = (
  table: Table.Table<typeof PolicyOptimizerRow>,
  params: ReadonlyMap<string, tf.Variable>,
  config: Partial<AdamW.Config>
): AdamW.Optimizer => (table.numRows === 0 ? AdamW.make(params, config) : AdamW.stateFromTable(params, table.arrow))

/** A prompt ready for the models: its key, text, turns and token ids (cut to the budget). */
export interface PromptItem {
  readonly key: string
  readonly text: string
  /** The last user turn (what a rule judge reads); "" when there is none. */
  readonly userText: string
  readonly turns: Turns
  readonly source: string
  readonly ids: Int32Array
}

/**
 * The prompt budget: `maxPromptTokens` (0 = as much as fits) but never more than leaves
 * `maxNewTokens` of room in the smallest context of the models involved.
 */
export const promptBudget = (contextLengths: ReadonlyArray<number>, maxNewTokens: number, maxPromptTokens: number): number => {
  const context = Math.min(...contextLengths)
  const room = context - maxNewTokens
  if (room < 2) throw new Error(`maxNewTokens ${maxNewTokens} leaves no room for a prompt in a context of ${context} tokens; lower maxNewTokens`)
  return maxPromptTokens > 0 ? Math.min(maxPromptTokens, room) : room
}

/** Encodes prompt rows with the chat template, keeping each prompt's latest `maxTokens` tokens. */
export const encodePrompts = (tok: Tokenizer.Tokenizer, rows: ReadonlyArray<typeof PromptRow.Type>, maxTokens: number): PromptItem[] =>
  rows.map((row, i) => {
    const turns = checkedTurns(row.prompt, i)
    if (turns.length === 0) throw new Error(`prompt row ${i} has no turns; every prompt needs at least one user turn`)
    return {
      key: promptKey(row.prompt),
      text: promptText(row.prompt),
      userText: lastUserText(row.prompt) ?? "",
      turns: row.prompt,
      source: row.source,
      ids: ChatTemplate.formatPrompt(tok, turns, { maxTokens }).ids
    }
  })

/** Generated responses: ids (with <|endoftext|> when finished) and whether each finished. */
export interface Responses {
  readonly ids: Int32Array[]
  readonly finished: boolean[]
}

/** The sampling knobs as Generate.generate takes them (without the seed). */
export const generateOptions = (s: Sampling): Generate.GenerateOptions => ({
  maxNewTokens: s.maxNewTokens,
  temperature: s.temperature,
  ...(s.topK > 0 ? { topK: s.topK } : {}),
  ...(s.topP < 1 ? { topP: s.topP } : {}),
  ...(s.greedy === true || s.temperature === 0 ? { greedy: true } : {})
})

/**
 * Samples one response per prompt in batches of `forwardBatchSize`; batch b draws from the seed
 * (seed, b), so the result depends only on the inputs and the seed.
 */
export const generate = (model: Gpt.Model, prompts: ReadonlyArray<Int32Array>, s: Sampling, seed: number, onBatch?: (done: number) => void): Responses => {
  const ids: Int32Array[] = [], finished: boolean[] = []
  const options = generateOptions(s)
  for (let at = 0, b = 0; at < prompts.length; at += s.forwardBatchSize, b++) {
    const g = Generate.generate(model, prompts.slice(at, at + s.forwardBatchSize), { ...options, seed: mixSeed(seed, b) })
    ids.push(...g.tokens), finished.push(...g.finished)
    onBatch?.(Math.min(prompts.length, at + s.forwardBatchSize))
  }
  return { ids, finished }
}

/** Response text: the ids decoded without the closing <|endoftext|>. */
export const responseText = (tok: Tokenizer.Tokenizer, ids: Int32Array): string =>
  tok.decode(ids.length > 0 && ids[ids.length - 1] === Tokenizer.EOT ? ids.subarray(0, ids.length - 1) : ids)

/** Per-token log-probs of each response under `model` (arrays of the response's length). */
export const logProbs = (model: Gpt.Model, prompts: ReadonlyArray<Int32Array>, responses: ReadonlyArray<Int32Array>, batchSize: number): Float32Array[] =>
  LogProbs.responseLogProbs(model, prompts, responses, { batchSize }).logProbs

/** Critic values V(s_t) of the state before each response token (arrays of the response's length). */
export const criticValues = (critic: Gpt.Model, prompts: ReadonlyArray<Int32Array>, responses: ReadonlyArray<Int32Array>, batchSize: number): Float32Array[] => {
  const out: Float32Array[] = []
  for (let at = 0; at < prompts.length; at += batchSize) {
    const rs = responses.slice(at, at + batchSize)
    const batch = LogProbs.sequenceBatch(prompts.slice(at, at + batchSize), rs, critic.config.contextLength)
    const values = tf.tidy(() => Gpt.scalarHead(critic, LogProbs.responseHidden(critic, batch)).dataSync() as Float32Array) // [B, R]
    const r = batch.responseMask.shape[1]
    LogProbs.disposeBatch(batch)
    rs.forEach((resp, j) => out.push(values.slice(j * r, j * r + resp.length)))
  }
  return out
}

/** Reward-model scores of (prompt, response) pairs, read at each response's last token. */
export const rewards = (rm: Gpt.Model, prompts: ReadonlyArray<Int32Array>, responses: ReadonlyArray<Int32Array>, batchSize: number): Float32Array =>
  Scoring.scoreSequences(rm, prompts.map((prompt, i) => ({ prompt, response: responses[i]! })), { batchSize })

/** Mean and population standard deviation (0 and 0 for no values). */
export const meanStd = (xs: ArrayLike<number>): { mean: number; std: number } => {
  const n = xs.length
  if (n === 0) return { mean: 0, std: 0 }
  let sum = 0
  for (let i = 0; i < n; i++) sum += xs[i]!
  const mean = sum / n
  let sq = 0
  for (let i = 0; i < n; i++) sq += (xs[i]! - mean) ** 2
  return { mean, std: Math.sqrt(sq / n) }
}

/**
 * Loads models one after another, runs `body` on them and frees them all afterwards (also when a
 * later load or `body` throws).
 */
export const withModels = <T>(loads: ReadonlyArray<() => Gpt.Model>, body: (models: ReadonlyArray<Gpt.Model>) => T): T => {
  const loaded: Gpt.Model[] = []
  try {
    for (const load of loads) loaded.push(load())
    return body(loaded)
  } finally {
    disposeModels(...loaded)
  }
}

/**
 * A critic (value head) initialised from `source`: the whole transformer is copied; the value head
 * is the source's reward head when it has one and `copyHead` (InstructGPT/OpenRLHF initialise the
 * critic from the reward model), else fresh (seeded).
 */
export const criticFrom = (source: Gpt.Model, seed: number, copyHead: boolean): Gpt.Model => {
  const critic = Gpt.initFrom(source, { head: "value", seed })
  if (copyHead && source.head !== "lm") {
    for (const part of ["w", "b"]) critic.params.get(`value_head.${part}`)!.assign(source.params.get(`${source.head}_head.${part}`)!)
  }
  return critic
}

/** SFT demonstrations as token ids fitted to `contextLength` (PTX batches, perplexity). */
export const encodeSft = (tok: Tokenizer.Tokenizer, rows: ReadonlyArray<typeof SftRow.Type>, contextLength: number): Array<{ prompt: Int32Array; response: Int32Array }> =>
  ChatTemplate.formatExamples(tok, rows.map((r, i) => ({ turns: checkedTurns(r.prompt, i), response: r.response })), contextLength).examples

/** Reference rewards by prompt key, from reference-baseline rows. */
export const baselineMap = (rows: ReadonlyArray<typeof PolicyBaselineRow.Type>): Map<string, number> => new Map(rows.map((r) => [r.key, r.refReward]))
