/**
 * Direct Preference Optimisation (Rafailov et al. 2023) from the SFT model: the policy starts as a
 * copy of the SFT model, which stays frozen as the reference; each step lowers
 * −log σ(β[(logπ(y_w) − logπ_ref(y_w)) − (logπ(y_l) − logπ_ref(y_l))]) on a minibatch of pairs
 * (the loss of ppo/Dpo), with sequence log-probs summed over response tokens. The reference
 * log-probs are computed once, before training.
 *
 * This module loads TensorFlow.js.
 */
import * as AdamW from "@rlhf/nn/AdamW"
import * as ChatTemplate from "@rlhf/nn/ChatTemplate"
import type * as DataParallel from "@rlhf/nn/DataParallel"
import * as Gpt from "@rlhf/nn/Gpt"
import * as LogProbs from "@rlhf/nn/LogProbs"
import * as LrSchedule from "@rlhf/nn/LrSchedule"
import * as Prng from "@rlhf/nn/Prng"
import type * as Tokenizer from "@rlhf/nn/Tokenizer"
import * as tf from "@tensorflow/tfjs-core"
import { sameIds } from "../model/RewardScoring.ts"
import { dpoLossReference } from "../ppo/Dpo.ts"
import { metric, type MetricRow } from "../schemas/MetricRow.ts"
import { checkedTurns, type PreferenceRow } from "../schemas/PreferenceRow.ts"
import { logProbs } from "./Models.ts"
import { dpoStep } from "./ParallelSteps.ts"
import { optimise, type StepReport } from "./PpoLoop.ts"
import { mixSeed } from "./Seeds.ts"
import { dpoStepLoss } from "./StepLosses.ts"

/** A preference pair as token ids. */
export interface DpoPair {
  readonly prompt: Int32Array
  readonly chosen: Int32Array
  readonly rejected: Int32Array
}

/** Hyper-parameters of DPO. */
export interface DpoOptions {
  readonly beta: number
  readonly lr: number
  /** Optimiser steps (the caller derives them from epochs when asked to). */
  readonly steps: number
  readonly batchSize: number
  readonly warmupSteps: number
  readonly weightDecay: number
  readonly maxGradNorm: number
  readonly forwardBatchSize: number
}

/**
 * Encodes preference rows so that any batch of them fits `contextLength` (the prompt keeps its
 * latest tokens, each response its first); pairs whose responses are identical after truncation
 * are left out and counted.
 */
export const encodePairs = (
  tok: Tokenizer.Tokenizer,
  rows: ReadonlyArray<typeof PreferenceRow.Type>,
  contextLength: number,
  maxPromptTokens: number
): { pairs: DpoPair[]; identical: number } => {
  // A batch left-pads to its longest prompt and right-pads to its longest response, so each pair
  // fitting the context is not enough: prompts keep their latest maxPromptTokens (default half the
  // context), and responses their first tokens up to what the longest prompt leaves.
  const promptBudget = maxPromptTokens > 0 ? Math.min(maxPromptTokens, contextLength - 1) : Math.floor(contextLength / 2)
  const encoded = rows.map((row, i) => ({
    prompt: ChatTemplate.formatPrompt(tok, checkedTurns(row.prompt, i), { maxTokens: promptBudget }).ids,
    chosen: ChatTemplate.formatResponse(tok, row.chosen).ids,
    rejected: ChatTemplate.formatResponse(tok, row.rejected).ids
  }))
  const room = contextLength - Math.max(0, ...encoded.map((p) => p.prompt.length))
  const pairs: DpoPair[] = []
  let identical = 0
  for (const p of encoded) {
    const chosen = p.chosen.slice(0, room), rejected = p.rejected.slice(0, room)
    if (sameIds(chosen, rejected)) identical++
    else pairs.push({ prompt: p.prompt, chosen, rejected })
  }
  return { pairs, identical }
}

const sum = (xs: Float32Array): number => xs.reduce((a, b) => a + b, 0)

/** Sequence log-probs (summed over response tokens) of chosen and rejected responses. */
export const sequenceLogProbs = (model: Gpt.Model, pairs: ReadonlyArray<DpoPair>, batchSize: number): { chosen: Float32Array; rejected: Float32Array } => {
  const prompts = pairs.map((p) => p.prompt)
  return {
    chosen: Float32Array.from(logProbs(model, prompts, pairs.map((p) => p.chosen), batchSize), sum),
    rejected: Float32Array.from(logProbs(model, prompts, pairs.map((p) => p.rejected), batchSize), sum)
  }
}

// One DPO step in process on `picked`; reports the 2k sequence log-probs, chosen then rejected.
const inProcessStep = (policy: Gpt.Model, opt: AdamW.Optimizer, lr: number, o: DpoOptions, picked: ReadonlyArray<DpoPair>, refChosen: number[], refRejected: number[]): StepReport => {
  const prompts = picked.map((p) => p.prompt)
  const batch = LogProbs.sequenceBatch([...prompts, ...prompts], [...picked.map((p) => p.chosen), ...picked.map((p) => p.rejected)], policy.config.contextLength)
  const refC = tf.tensor1d(refChosen), refR = tf.tensor1d(refRejected)
  try {
    return optimise(policy, opt, lr, o.maxGradNorm, (report) => dpoStepLoss(policy, batch, refC, refR, o.beta, 1, report))
  } finally {
    tf.dispose([refC, refR])
    LogProbs.disposeBatch(batch)
  }
}

/**
 * Trains a copy of `sft` with DPO; returns the new model and per-step metrics. With a `pool`
 * (workers > 1) each step runs data-parallel (ParallelSteps).
 */
export const dpoTrain = (
  sft: Gpt.Model,
  pairs: ReadonlyArray<DpoPair>,
  o: DpoOptions,
  seed: number,
  onStep?: (step: number, loss: number, accuracy: number) => void,
  pool?: DataParallel.Pool
): { model: Gpt.Model; metrics: Array<typeof MetricRow.Type> } => {
  if (pairs.length === 0) throw new Error("dpo got no usable preference pairs (none, or all identical after truncation); wire a non-empty PreferenceRow table")
  const ref = sequenceLogProbs(sft, pairs, o.forwardBatchSize)
  const policy = Gpt.initFrom(sft, { head: "lm", seed })
  const opt = AdamW.make(policy.params, { weightDecay: o.weightDecay })
  const schedule = LrSchedule.warmupCosine({ lr: o.lr, warmup: Math.min(o.warmupSteps, o.steps), total: o.steps })
  const metrics: Array<typeof MetricRow.Type> = []
  let order: number[] = [], at = 0, pass = 0
  const next = (): number[] => {
    const picked: number[] = []
    while (picked.length < Math.min(o.batchSize, pairs.length)) {
      if (at >= order.length) {
        const rng = Prng.make(mixSeed(seed, pass++))
        order = pairs.map((_, i) => i)
        for (let i = order.length - 1; i > 0; i--) {
          const j = rng.int(i + 1)
          ;[order[i], order[j]] = [order[j]!, order[i]!]
        }
        at = 0
      }
      picked.push(order[at++]!)
    }
    return picked
  }
  try {
    for (let step = 0; step < o.steps; step++) {
      const idx = next()
      const k = idx.length
      const picked = idx.map((i) => pairs[i]!)
      const refChosen = idx.map((i) => ref.chosen[i]!), refRejected = idx.map((i) => ref.rejected[i]!)
      const lr = schedule(step)
      const result = pool === undefined
        ? inProcessStep(policy, opt, lr, o, picked, refChosen, refRejected)
        : dpoStep(pool, policy, opt, lr, o, picked, refChosen, refRejected)
      const seq = result.reported[0]!
      const m = dpoLossReference({
        policyChosen: seq.subarray(0, k), policyRejected: seq.subarray(k, 2 * k),
        refChosen, refRejected, beta: o.beta
      })
      const { loss, accuracy, margin, chosenReward, rejectedReward } = m
      const gradNorm = result.gradNorm
      metrics.push(
        metric("loss", loss, "train", step), metric("accuracy", accuracy, "train", step), metric("margin", margin, "train", step),
        metric("chosen_reward", chosenReward, "train", step), metric("rejected_reward", rejectedReward, "train", step),
        metric("grad_norm", gradNorm, "train", step), metric("lr", lr, "train", step)
      )
      onStep?.(step, loss, accuracy)
    }
    // Implicit-reward accuracy on every pair after training.
    const after = sequenceLogProbs(policy, pairs, o.forwardBatchSize)
    let correct = 0, margin = 0
    pairs.forEach((_, i) => {
      const m = o.beta * ((after.chosen[i]! - ref.chosen[i]!) - (after.rejected[i]! - ref.rejected[i]!))
      correct += m > 0 ? 1 : 0
      margin += m
    })
    metrics.push(metric("accuracy", correct / pairs.length, "final", o.steps), metric("margin", margin / pairs.length, "final", o.steps))
  } catch (e) {
    Gpt.dispose(policy)
    throw e
  } finally {
    AdamW.dispose(opt)
  }
  return { model: policy, metrics }
}
