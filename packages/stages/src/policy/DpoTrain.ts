/**
 * `dpo`: Direct Preference Optimisation (Rafailov et al. 2023) from the SFT model on preference
 * pairs — human pairs, or pairs of SFT samples labelled by the reward model (rm-label-pairs), as
 * the paper compares. The SFT model is both the starting point and the frozen reference; β sets
 * how far the policy may move from it. See DpoLoop.ts.
 *
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { MetricRow, metricsTable } from "../schemas/MetricRow.ts"
import { PreferenceRow } from "../schemas/PreferenceRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { CommonFields, int, num, positive } from "./Params.ts"
import { attempt, loadRuntime, progressCallback } from "./Runtime.ts"
import { mixSeed } from "./Seeds.ts"

/** Params of dpo. */
export const DpoParams = Schema.Struct({
  /** β: strength of the implicit KL constraint to the SFT model. */
  beta: positive(0.1),
  /** Optimiser steps; 0 derives them from `epochs`. */
  steps: int(0, 0),
  /** Passes over the pairs when `steps` is 0. */
  epochs: positive(1),
  /** Pairs per step (each step runs 2 × batchSize sequences). */
  batchSize: int(1, 8),
  /** Peak learning rate (linear warm-up, then cosine decay to lr / 10). */
  lr: positive(1e-5),
  warmupSteps: int(0, 0),
  weightDecay: num(0, 0),
  maxGradNorm: positive(1),
  /** Prompt budget in tokens; 0 = half the context (the rest is for the responses). */
  maxPromptTokens: int(0, 0),
  /** Sequences per forward pass when computing reference log-probs. */
  forwardBatchSize: int(1, 16),
  ...CommonFields
})

/** DPO from the SFT model on preference pairs. */
export const Dpo = Stage.make({
  name: "dpo",
  version: "1",
  description: "Direct Preference Optimisation of the SFT model on preference pairs (SFT = frozen reference)",
  inputs: { pairs: PreferenceRow, tokenizer: TokenizerRow, sft: WeightsRow },
  outputs: { weights: WeightsRow, metrics: MetricRow },
  params: DpoParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const { models, dpo, nn, parallel } = yield* loadRuntime
      const report = yield* progressCallback
      const out = yield* attempt(info.node, () => {
        const tok = models.loadTokenizer(inputs.tokenizer)
        return models.withModels([() => models.loadModel(inputs.sft, "sft", "lm")], ([sft]) => {
          const { pairs, identical } = dpo.encodePairs(tok, Table.toRows(inputs.pairs), sft!.config.contextLength, params.maxPromptTokens)
          const steps = params.steps > 0 ? params.steps : Math.max(1, Math.ceil((params.epochs * pairs.length) / params.batchSize))
          const trained = parallel.withPolicyPool(params.workers, { policy: sft! }, (pool) =>
            dpo.dpoTrain(sft!, pairs, { ...params, steps }, mixSeed(info.seed, params.seed), (step, loss, accuracy) =>
              report(step + 1, steps, `loss ${loss.toFixed(3)} · acc ${accuracy.toFixed(2)}`), pool))
          try {
            return { weights: nn.Weights.weightsToTable(trained.model), metrics: trained.metrics, identical, pairs: pairs.length }
          } finally {
            nn.Gpt.dispose(trained.model)
          }
        })
      })
      if (out.identical > 0) yield* Effect.logWarning(`${out.identical} pairs had identical responses after truncation and were skipped`)
      return { weights: yield* Table.fromArrow(WeightsRow, out.weights, "weights"), metrics: metricsTable(out.metrics) }
    })
})
