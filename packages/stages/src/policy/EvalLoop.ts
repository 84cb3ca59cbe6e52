/**
 * Head-to-head evaluation: both models answer every prompt, a judge scores both answers, the
 * higher score wins (a tie within `eps`); and the forgetting check: perplexity on SFT data.
 *
 * This module loads TensorFlow.js.
 */
import type * as Gpt from "@rlhf/nn/Gpt"
import * as Train from "@rlhf/nn/Train"
import type * as Tokenizer from "@rlhf/nn/Tokenizer"
import * as tf from "@tensorflow/tfjs-core"
import type { PolicyEvalRow } from "../schemas/PolicyEvalRow.ts"
import { judge } from "../task/Rule.ts"
import * as Models from "./Models.ts"
import type { Sampling } from "./Params.ts"

/** Both models' responses to the prompts (ids and text). */
export interface HeadToHead {
  readonly policy: Models.Responses
  readonly baseline: Models.Responses
  readonly policyText: string[]
  readonly baselineText: string[]
}

/** Generates a response from each model to each prompt (the same seed for both). */
export const answer = (
  policy: Gpt.Model,
  baseline: Gpt.Model,
  tok: Tokenizer.Tokenizer,
  prompts: ReadonlyArray<Models.PromptItem>,
  sampling: Sampling,
  seed: number,
  onProgress?: (done: number, total: number) => void
): HeadToHead => {
  const ids = prompts.map((p) => p.ids)
  const a = Models.generate(policy, ids, sampling, seed, (done) => onProgress?.(done, 2 * ids.length))
  const b = Models.generate(baseline, ids, sampling, seed, (done) => onProgress?.(ids.length + done, 2 * ids.length))
  return { policy: a, baseline: b, policyText: a.ids.map((x) => Models.responseText(tok, x)), baselineText: b.ids.map((x) => Models.responseText(tok, x)) }
}

/** The built-in task's ground-truth rule as judge; throws on a prompt that is not the task's. */
export const ruleScores = (prompts: ReadonlyArray<Models.PromptItem>, responses: ReadonlyArray<string>): number[] =>
  prompts.map((p, i) => {
    try {
      return judge(p.userText, responses[i]!)
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : String(e)} — the "task-rule" judge only knows the built-in task's prompts; use eval-rm with a judge reward model for other data`)
    }
  })

/** "policy" | "baseline" | "tie" (|Δ| ≤ eps) from the two scores. */
export const winner = (policyScore: number, baselineScore: number, eps: number): "policy" | "baseline" | "tie" =>
  Math.abs(policyScore - baselineScore) <= eps ? "tie" : policyScore > baselineScore ? "policy" : "baseline"

/**
 * Perplexity of `model` on SFT demonstrations: exp of the mean next-token loss over all response
 * tokens (token-weighted across batches).
 */
export const perplexity = (model: Gpt.Model, examples: ReadonlyArray<Train.SftExample>, batchSize: number): number => {
  if (examples.length === 0) throw new Error("perplexity needs at least one SFT example; wire a non-empty sft table")
  let nll = 0, tokens = 0
  for (let at = 0; at < examples.length; at += batchSize) {
    const batch = Train.sftBatch(examples.slice(at, at + batchSize), model.config.contextLength)
    const [loss, count] = tf.tidy(() => [Train.lmBatchLoss(model, batch).dataSync()[0]!, tf.sum(batch.lossMask).dataSync()[0]!])
    tf.dispose([batch.ids, batch.targets, batch.lossMask, batch.attentionMask])
    nll += loss! * count!
    tokens += count!
  }
  if (tokens === 0) throw new Error("the SFT examples have no response tokens left after fitting the context; shorten the prompts or use a longer context")
  return Math.exp(nll / tokens)
}

/** PolicyEvalRow rows from the answers and both score lists. */
export const evalRows = (
  prompts: ReadonlyArray<Models.PromptItem>,
  h: HeadToHead,
  policyScores: ReadonlyArray<number>,
  baselineScores: ReadonlyArray<number>,
  eps: number
): Array<typeof PolicyEvalRow.Type> =>
  prompts.map((p, i) => ({
    prompt: p.text,
    source: p.source,
    policy_response: h.policyText[i]!,
    baseline_response: h.baselineText[i]!,
    policy_score: policyScores[i]!,
    baseline_score: baselineScores[i]!,
    winner: winner(policyScores[i]!, baselineScores[i]!, eps)
  }))
