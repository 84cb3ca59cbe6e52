/**
 * `pretrain`: next-token pretraining of a fresh GPT on a text corpus. This is the stage that
 * creates a model, so the architecture params (dModel, nLayers, nHeads, contextLength) live
 * here; later stages read the config from the weights table's metadata.
 */
import { Progress, Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { metric, MetricRow, metricsTable } from "../schemas/MetricRow.ts"
import { TextRow } from "../schemas/TextRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { encodeCorpus, holdoutSplit } from "./Corpus.ts"
import { ModelError } from "./ModelError.ts"
import {
  attempt,
  fractionParam,
  intParam,
  meanTokensPerSec,
  nonNegativeParam,
  positiveParam,
  readTokenizer,
  stageBackend,
  dataParallel,
  stageSeed,
  stepLine,
  stepMetricRows,
  throttledProgress
} from "./ModelStage.ts"

/** Params of pretrain. */
export const PretrainParams = Schema.Struct({
  dModel: intParam(1, 128),
  nLayers: intParam(1, 4),
  nHeads: intParam(1, 4),
  contextLength: intParam(2, 128),
  /** Optimiser steps, each on `batchSize` random windows of `contextLength` + 1 tokens. */
  steps: intParam(1, 2000),
  batchSize: intParam(1, 16),
  /** Peak learning rate: linear warm-up over `warmupSteps`, then cosine decay to lr / 10. */
  lr: positiveParam(1e-3),
  warmupSteps: intParam(0, 100),
  /** AdamW decoupled weight decay (matrices only). */
  weightDecay: nonNegativeParam(0.1),
  /** Global gradient-norm clip. */
  gradClip: positiveParam(1),
  /** Share of the token stream (its tail) held out for the validation loss; 0: none. */
  valFraction: fractionParam(0.1),
  /** Validation loss every this many steps (and always after the last); 0: only after the last. */
  evalEvery: intParam(0, 200),
  /** Context windows per validation (spread evenly over the held-out text); 0: all of it. */
  evalWindows: intParam(0, 64),
  seed: intParam(0, 0),
  /** Data-parallel worker threads (1: in process); the stage holds this many CPU slots. */
  workers: intParam(1, 1)
})

/**
 * Pretrains a GPT on `corpus` (documents, each ended by <|endoftext|>) with the `tokenizer`.
 * Outputs its `weights` (config in the table metadata) and `metrics`: per step loss, gradNorm,
 * lr, tokensPerSec (group "train"), the held-out loss (group "val") at evaluations, and one-off
 * counts: documents, documentsOverContext (documents longer than the context, seen only in
 * windows), tokens (groups "train"/"val"), parameters.
 */
export const Pretrain = Stage.make({
  name: "pretrain",
  version: "1",
  description: "next-token pretraining of a fresh GPT on a text corpus",
  inputs: { corpus: TextRow, tokenizer: TokenizerRow },
  outputs: { weights: WeightsRow, metrics: MetricRow },
  params: PretrainParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params: p }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const report = throttledProgress(yield* Progress)
      const nn = yield* Effect.promise(async () => ({
        DataParallel: await import("@rlhf/nn/DataParallel"),
        Gpt: await import("@rlhf/nn/Gpt"),
        LmParallel: await import("@rlhf/nn/LmParallel"),
        Tokenizer: await import("@rlhf/nn/Tokenizer"),
        Train: await import("@rlhf/nn/Train"),
        Weights: await import("@rlhf/nn/Weights")
      }))
      yield* stageBackend
      const fail = (reason: string, fix: string) => new ModelError({ node: info.node, reason, fix })
      if (p.dModel % p.nHeads !== 0) {
        return yield* fail(`dModel ${p.dModel} is not divisible by nHeads ${p.nHeads}`, `Set --set ${info.node}.nHeads to a divisor of dModel`)
      }
      const tok = yield* readTokenizer(nn.Tokenizer, inputs.tokenizer, info.node)
      const config = { vocabSize: tok.vocabSize, dModel: p.dModel, nLayers: p.nLayers, nHeads: p.nHeads, contextLength: p.contextLength }

      const corpus = encodeCorpus(tok, Table.columnValues(inputs.corpus, "text"), p.contextLength)
      const { train, val } = holdoutSplit(corpus.ids, p.valFraction)
      const window = p.contextLength + 1
      if (train.length < window + 1 || (p.valFraction > 0 && val.length < window)) {
        return yield* fail(
          `the corpus has ${corpus.ids.length} tokens (${train.length} for training, ${val.length} held out); training needs more than one window of ${window} tokens and validation at least one`,
          `Feed it more text, lower ${info.node}.contextLength, or change ${info.node}.valFraction (0 disables validation)`
        )
      }
      yield* Effect.logInfo(`${corpus.documents} documents, ${train.length} training and ${val.length} held-out tokens; model ${JSON.stringify(config)}`)
      if (p.workers > 1) yield* Effect.logInfo(`data-parallel training on ${p.workers} worker threads`)

      const t0 = performance.now()
      const result = yield* attempt(info.node, () =>
        nn.DataParallel.withPool({ workers: p.workers, models: { lm: { config, head: "lm" } }, taskModules: [nn.LmParallel.taskModule] }, (pool) => nn.Train.pretrainLm(train, config, {
          steps: p.steps,
          batchSize: p.batchSize,
          lr: p.lr,
          warmup: Math.min(p.warmupSteps, p.steps),
          seed: stageSeed(info.seed, p.seed),
          weightDecay: p.weightDecay,
          maxGradNorm: p.gradClip,
          ...(p.valFraction > 0 ? { valIds: val, evalEvery: p.evalEvery > 0 ? p.evalEvery : p.steps } : {}),
          evalWindows: p.evalWindows > 0 ? p.evalWindows : Number.MAX_SAFE_INTEGER, // 0: every window of the held-out text
          onProgress: (m) => report(m.step + 1, p.steps, stepLine(m)),
          ...(pool === undefined ? {} : { stepper: dataParallel(info, nn.LmParallel.lmStepper(pool), pool.size) })
        })))
      const { model, metrics } = result
      const tokensPerSec = meanTokensPerSec(metrics)
      info.record("tokensPerSec", tokensPerSec.toFixed(0))
      yield* Effect.logInfo(`trained ${p.steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${tokensPerSec.toFixed(0)} tokens/s; final ${stepLine(metrics.at(-1)!)}`)
      const weights = yield* Table.fromArrow(WeightsRow, nn.Weights.weightsToTable(model), "weights").pipe(
        Effect.ensuring(Effect.sync(() => nn.Gpt.dispose(model)))
      )
      return {
        weights,
        metrics: metricsTable([
          metric("documents", corpus.documents),
          metric("documentsOverContext", corpus.documentsOverContext),
          metric("tokens", train.length, "train"),
          metric("tokens", val.length, "val"),
          metric("parameters", weightsCount(nn.Gpt.paramShapes(config))),
          ...stepMetricRows(metrics)
        ])
      }
    })
})

const weightsCount = (shapes: ReadonlyArray<[string, number[]]>): number =>
  shapes.reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0)
