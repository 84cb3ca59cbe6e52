/**
 * `rm-train`: trains a reward model on preference pairs (ChatGLM-RLHF, Hou et al. 2024): the
 * SFT transformer with a scalar reward head, read at the last response token, trained with the
 * Bradley-Terry loss plus the score prior λ·(r_w² + r_l²) that keeps scores centred near zero so
 * their scale stays stable for PPO.
 *
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Progress, Stage, StageInfo, Table } from "@rlhf/core"
import type * as Nn from "@rlhf/nn"
import type * as TfCore from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { bradleyTerryForGradient } from "../ppo/BradleyTerry.ts"
import type * as LossModule from "../ppo/RewardModelLoss.ts"
import type * as RmParallel from "./RmParallel.ts"
import { promptKey } from "../preferences/Normalize.ts"
import { hashFraction } from "../preferences/Split.ts"
import { metric, MetricRow, metricsTable } from "../schemas/MetricRow.ts"
import { checkedTurns, PreferenceRow } from "../schemas/PreferenceRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { ModelError } from "./ModelError.ts"
import { attempt, compact, dataParallel, fractionParam, intParam, nonNegativeParam, positiveParam, readTokenizer, stageBackend, stageSeed, throttledProgress } from "./ModelStage.ts"
import type * as Scoring from "./RewardScoring.ts"

/** Params of rm-train. */
export const RmTrainParams = Schema.Struct({
  /** Optimiser steps; 0 derives them from `epochs`. */
  steps: intParam(0, 0),
  /** Passes over the training pairs when `steps` is 0. */
  epochs: positiveParam(1),
  /** Pairs per step (each step scores 2 × batchSize sequences). */
  batchSize: intParam(1, 16),
  /**
   * Pairs per forward/backward pass within a step (gradient accumulation); 0: the whole batch.
   * Bounds a step's activation memory (the wasm backend has 4 GiB) without changing the step:
   * each pass's loss is weighted by its share of the pairs, so the summed gradient is the
   * batch's, up to float32 rounding. In process only (workers = 1).
   */
  microBatch: intParam(0, 0),
  /** Peak learning rate (linear warm-up, then cosine decay to lr / 10). */
  lr: positiveParam(1e-4),
  warmupSteps: intParam(0, 10),
  /** AdamW decoupled weight decay (matrices only). */
  weightDecay: nonNegativeParam(0.01),
  /** Global gradient-norm clip. */
  gradClip: positiveParam(1),
  /** λ of the score prior λ·(r_w² + r_l²); 0 gives the plain Bradley-Terry loss. */
  scorePrior: nonNegativeParam(0.01),
  /** Prompt token budget when a pair does not fit the context; 0 = half the context. */
  maxPromptTokens: intParam(0, 0),
  /**
   * Keep the embeddings and the first this many transformer blocks at their SFT values (0: train
   * everything): with few pairs, tuning only the top of the network overfits less.
   */
  freezeLayers: intParam(0, 0),
  /** Share of prompts held out of training and scored at each evaluation (0: score a sample of the training pairs instead). */
  holdout: fractionParam(0),
  /** Evaluate every this many steps (0: only after the last step). */
  evalEvery: intParam(0, 0),
  /** Most pairs scored per evaluation. */
  evalSize: intParam(1, 256),
  /** Sequences per forward pass when evaluating. */
  evalBatchSize: intParam(2, 32),
  seed: intParam(0, 0),
  /** Data-parallel worker threads (1: in process); the stage holds this many CPU slots. */
  workers: intParam(1, 1)
})

type Params = typeof RmTrainParams.Type
type MetricRowType = typeof MetricRow.Type

/** The modules rm-train loads lazily. */
interface Modules {
  readonly tf: typeof TfCore
  readonly nn: typeof Nn
  readonly scoring: typeof Scoring
  readonly loss: typeof LossModule
  readonly parallel: typeof RmParallel
}

const loadModules = Effect.promise(async (): Promise<Modules> => ({
  tf: await import("@tensorflow/tfjs-core"),
  nn: await import("@rlhf/nn"),
  scoring: await import("./RewardScoring.ts"),
  loss: await import("../ppo/RewardModelLoss.ts"),
  parallel: await import("./RmParallel.ts")
}))

export { bradleyTerryForGradient }

/** Loss and score metrics of a set of encoded pairs under the current model (no gradients). */
const evaluate = (m: Modules, model: Nn.Gpt.Model, pairs: ReadonlyArray<Scoring.EncodedPair>, p: Params, step: number, group: string): MetricRowType[] => {
  const { chosen, rejected } = m.scoring.scorePairs(model, pairs, { batchSize: p.evalBatchSize })
  const r = m.loss.rewardModelLossReference({ chosen, rejected, scorePrior: p.scorePrior })
  return [
    metric("loss", r.loss, group, step), metric("accuracy", r.accuracy, group, step), metric("margin", r.margin, group, step),
    metric("scoreMean", r.scoreMean, group, step), metric("scoreStd", r.scoreStd, group, step)
  ]
}

/** Batches of similar length are sorted out of windows of this many batches. */
const BUCKET_WINDOW = 8

const shuffle = <A>(items: A[], rng: Nn.Prng.Prng): A[] => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

/**
 * Seeded shuffled epochs of batches: every pair once per pass, a fresh order each pass. Within
 * each window of BUCKET_WINDOW batches of the shuffled order, pairs are sorted by length before
 * they are cut into batches, and the batches are shuffled again: a batch is padded to its longest
 * sequence, so batching similar lengths saves much of the padding compute, while every batch
 * still comes from a random window of the data.
 */
export const epochBatches = (lengths: ReadonlyArray<number>, batchSize: number, rng: Nn.Prng.Prng): number[][] => {
  const order = shuffle(lengths.map((_, i) => i), rng)
  const size = Math.min(batchSize, lengths.length)
  const batches: number[][] = []
  for (let w = 0; w < order.length; w += size * BUCKET_WINDOW) {
    const window = order.slice(w, w + size * BUCKET_WINDOW).sort((a, b) => lengths[a]! - lengths[b]! || a - b)
    for (let b = 0; b < window.length; b += size) batches.push(window.slice(b, b + size))
  }
  return shuffle(batches, rng)
}

/** An endless supply of batches, epoch after epoch. */
const batchSampler = (lengths: ReadonlyArray<number>, batchSize: number, rng: Nn.Prng.Prng) => {
  let batches: number[][] = []
  return (): number[] => {
    if (batches.length === 0) batches = epochBatches(lengths, batchSize, rng).reverse()
    return batches.pop()!
  }
}

/** Whether a parameter stays at its initial value: the embeddings and blocks below `freezeLayers`. */
export const frozen = (name: string, freezeLayers: number): boolean => {
  if (freezeLayers <= 0) return false
  if (name === "wte" || name === "wpe") return true
  const block = /^h\.(\d+)\./.exec(name)
  return block !== null && Number(block[1]) < freezeLayers
}

/** `items` in consecutive chunks of at most `size`. */
const chunked = <A>(items: ReadonlyArray<A>, size: number): A[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

/**
 * One optimiser step on `picked`, in passes of `p.microBatch` pairs (all at once when 0). Each
 * pass adds the gradient of its share of the batch loss (RmParallel.pairsLoss, as the
 * data-parallel shards do); the sum is clipped and applied once. Returns the step's metrics over
 * all its pairs; frees every tensor it makes.
 */
const trainStep = (m: Modules, model: Nn.Gpt.Model, trainable: ReadonlyArray<TfCore.Variable>, opt: Nn.AdamW.Optimizer, picked: ReadonlyArray<Scoring.EncodedPair>, p: Params, lr: number) => {
  const { tf, nn, loss } = m
  const nameOf = new Map([...model.params].map(([n, v]) => [v.name, n]))
  const chosen: TfCore.Tensor1D[] = [], rejected: TfCore.Tensor1D[] = []
  let grads = new Map<string, TfCore.Tensor>()
  try {
    for (const part of chunked(picked, p.microBatch > 0 ? p.microBatch : picked.length)) {
      const b = part.length
      const { value, grads: g } = tf.variableGrads(() => {
        const { loss, scores } = m.parallel.pairsLoss(model, part, b / picked.length, p.scorePrior)
        chosen.push(tf.keep(tf.slice(scores, 0, b))), rejected.push(tf.keep(tf.slice(scores, b, b)))
        return loss
      }, [...trainable])
      value.dispose()
      grads = addGrads(tf, grads, new Map(Object.entries(g).map(([vn, t]) => [nameOf.get(vn)!, t])))
    }
    const norm = tf.tidy(() => {
      const clipped = nn.AdamW.clipByGlobalNorm(grads, p.gradClip)
      nn.AdamW.apply(opt, model.params, clipped.grads, lr)
      return clipped.norm.dataSync()[0]!
    })
    const [lossV, accuracy, margin, scoreMean, scoreStd] = tf.tidy(() => {
      const r = loss.rewardModelLoss({ chosen: tf.concat(chosen), rejected: tf.concat(rejected), scorePrior: p.scorePrior })
      return [r.loss, r.accuracy, r.margin, r.scoreMean, r.scoreStd].map((t) => t.dataSync()[0]!)
    })
    return { loss: lossV!, accuracy: accuracy!, margin: margin!, scoreMean: scoreMean!, scoreStd: scoreStd!, gradNorm: norm, tokens: m.parallel.pairTokens(picked) }
  } finally {
    tf.dispose([...chosen, ...rejected, ...grads.values()])
  }
}

/** `sum` + `more`, parameter by parameter; both maps' tensors are consumed. */
const addGrads = (tf: typeof TfCore, sum: Map<string, TfCore.Tensor>, more: Map<string, TfCore.Tensor>): Map<string, TfCore.Tensor> => {
  if (sum.size === 0) return more
  const out = new Map([...sum].map(([name, g]) => [name, tf.add(g, more.get(name)!)]))
  tf.dispose([...sum.values(), ...more.values()])
  return out
}

/** The training loop: a new reward model from `init`, and its metric rows. */
const train = (
  m: Modules,
  init: Nn.Gpt.Model,
  trainPairs: ReadonlyArray<Scoring.EncodedPair>,
  evalPairs: ReadonlyArray<Scoring.EncodedPair>,
  evalGroup: string,
  p: Params,
  seed: number,
  steps: number,
  report: (done: number, total: number, info: string) => void,
  pool: Nn.DataParallel.Pool | undefined
): { model: Nn.Gpt.Model; rows: MetricRowType[] } => {
  const { nn } = m
  const model = nn.Gpt.initFrom(init, { head: "reward", seed })
  const trainable = new Map([...model.params].filter(([name]) => !frozen(name, p.freezeLayers)))
  const opt = nn.AdamW.make(trainable, { weightDecay: p.weightDecay })
  const schedule = nn.LrSchedule.warmupCosine({ lr: p.lr, warmup: Math.min(p.warmupSteps, steps), total: steps })
  const lengths = trainPairs.map((x) => x.prompt.length + Math.max(x.chosen.length, x.rejected.length))
  const next = batchSampler(lengths, p.batchSize, nn.Prng.make(seed))
  const rows: MetricRowType[] = []
  try {
    for (let step = 0; step < steps; step++) {
      const t0 = performance.now()
      const lr = schedule(step)
      const picked = next().map((i) => trainPairs[i]!)
      const r = pool === undefined
        ? trainStep(m, model, [...trainable.values()], opt, picked, p, lr)
        : m.parallel.rmStep(pool, model, [...trainable.keys()], opt, picked, p, lr)
      const tokensPerSec = r.tokens / ((performance.now() - t0) / 1000)
      for (const [name, value] of [["loss", r.loss], ["accuracy", r.accuracy], ["margin", r.margin], ["scoreMean", r.scoreMean], ["scoreStd", r.scoreStd], ["gradNorm", r.gradNorm], ["lr", lr], ["tokensPerSec", tokensPerSec]] as const) {
        rows.push(metric(name, value, "train", step))
      }
      if ((p.evalEvery > 0 && (step + 1) % p.evalEvery === 0) || step === steps - 1) rows.push(...evaluate(m, model, evalPairs, p, step, evalGroup))
      report(step + 1, steps, `loss ${r.loss.toFixed(3)} · acc ${r.accuracy.toFixed(2)} · score ${r.scoreMean.toFixed(2)}±${r.scoreStd.toFixed(2)} · ${compact(tokensPerSec)} tok/s`)
    }
  } catch (e) {
    nn.Gpt.dispose(model)
    throw e
  } finally {
    nn.AdamW.dispose(opt)
  }
  return { model, rows }
}

/** A seeded sample of `n` items (all when n ≥ length), in input order. */
const sample = <A>(items: ReadonlyArray<A>, n: number, rng: Nn.Prng.Prng): A[] => {
  if (n >= items.length) return [...items]
  const keyed = items.map((_, i) => ({ i, k: rng.next() })).sort((a, b) => a.k - b.k).slice(0, n)
  return keyed.map((x) => x.i).sort((a, b) => a - b).map((i) => items[i]!)
}

/** Which rows are held out: whole prompts, by the seeded prompt hash the split stage uses (none when holdout is 0). */
const holdoutSides = (rows: ReadonlyArray<typeof PreferenceRow.Type>, holdout: number, seed: number): boolean[] =>
  rows.map((r, i) => holdout > 0 && hashFraction(promptKey(checkedTurns(r.prompt, i)), seed) < holdout)

/** The encoded training and evaluation pairs, the step count and the data metrics. */
const prepare = (m: Modules, tok: Nn.Tokenizer.Tokenizer, ctx: number, rows: ReadonlyArray<typeof PreferenceRow.Type>, p: Params, seed: number, node: string) => {
  const side = holdoutSides(rows, p.holdout, seed)
  const encoded = rows.map((r, i) => m.scoring.encodePair(tok, checkedTurns(r.prompt, i), r.chosen, r.rejected, ctx, p.maxPromptTokens > 0 ? p.maxPromptTokens : undefined))
  const usable = encoded.map((e, i) => ({ e, holdout: side[i]! })).filter((x) => !x.e.identical)
  const trainPairs = usable.filter((x) => !x.holdout).map((x) => x.e)
  const heldOut = usable.filter((x) => x.holdout).map((x) => x.e)
  const dropped = encoded.length - usable.length
  if (trainPairs.length === 0) {
    throw new ModelError({
      node,
      reason: `no training pairs left (${rows.length} input pairs, ${dropped} identical after truncation to ${ctx} tokens, ${heldOut.length} held out)`,
      fix: "Feed it more pairs, lower holdout, or train the SFT model with a longer contextLength"
    })
  }
  const steps = p.steps > 0 ? p.steps : Math.max(1, Math.ceil((p.epochs * trainPairs.length) / p.batchSize))
  const evalGroup = heldOut.length > 0 ? "holdout" : "train-sample"
  const evalPairs = sample(evalGroup === "holdout" ? heldOut : trainPairs, p.evalSize, m.nn.Prng.make(seed ^ 0x2545f491))
  const rowsOut: MetricRowType[] = [
    metric("pairs", rows.length), metric("trainPairs", trainPairs.length), metric("holdoutPairs", heldOut.length),
    metric("droppedIdentical", dropped),
    metric("promptTruncated", usable.filter((x) => x.e.promptTruncated).length),
    metric("responseTruncated", usable.filter((x) => x.e.responseTruncated).length),
    metric("steps", steps)
  ]
  return { trainPairs, evalPairs, evalGroup, steps, rows: rowsOut }
}

/**
 * Trains a reward model from an SFT model (`init`) on `pairs`. Pairs are truncated to the
 * context by the chat template's policy (prompt: last turns; responses: their start); pairs whose
 * responses become identical are dropped and counted. Outputs the weights (head "reward") and
 * metrics: per step (group "train") loss, accuracy, margin, scoreMean, scoreStd, gradNorm, lr,
 * tokensPerSec; at each evaluation loss, accuracy, margin, scoreMean, scoreStd over held-out
 * pairs (group "holdout") or a fixed sample of training pairs (group "train-sample"); and
 * one-off counts (step null): pairs, trainPairs, holdoutPairs, droppedIdentical,
 * promptTruncated, responseTruncated, steps, parameters.
 */
export const RmTrain = Stage.make({
  name: "rm-train",
  version: "1",
  description: "reward model: Bradley-Terry loss + score prior, initialised from the SFT model",
  inputs: { pairs: PreferenceRow, tokenizer: TokenizerRow, init: WeightsRow },
  outputs: { weights: WeightsRow, metrics: MetricRow },
  params: RmTrainParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const report = throttledProgress(yield* Progress)
      if (params.microBatch > 0 && params.workers > 1) {
        return yield* new ModelError({
          node: info.node,
          reason: `microBatch ${params.microBatch} splits a step in process, but workers is ${params.workers}: the threads already split each batch`,
          fix: `Set --set ${info.node}.microBatch=0, or --set ${info.node}.workers=1`
        })
      }
      const m = yield* loadModules
      yield* stageBackend
      const tok = yield* readTokenizer(m.nn.Tokenizer, inputs.tokenizer, info.node)
      const init = yield* attempt(info.node, () => m.nn.Weights.loadWeights(inputs.init.arrow), "Wire init to an sft (or pretrain) node's weights output")
      const seed = stageSeed(info.seed, params.seed)
      const result = yield* attempt(info.node, () => {
        try {
          const data = prepare(m, tok, init.config.contextLength, Table.toRows(inputs.pairs), params, seed, info.node)
          const workers = { workers: params.workers, models: { [m.parallel.REPLICA]: { config: init.config, head: "reward" as const } }, taskModules: [m.parallel.taskModule] }
          const trained = m.nn.DataParallel.withPool(workers, (pool) =>
            train(m, init, data.trainPairs, data.evalPairs, data.evalGroup, params, seed, data.steps, report, pool && dataParallel(info, pool, pool.size)))
          return { model: trained.model, rows: [...data.rows, metric("parameters", m.nn.Gpt.parameterCount(trained.model)), ...trained.rows] }
        } finally {
          m.nn.Gpt.dispose(init)
        }
      })
      const weights = yield* Table.fromArrow(WeightsRow, m.nn.Weights.weightsToTable(result.model), "weights")
      m.nn.Gpt.dispose(result.model)
      return { weights, metrics: metricsTable(result.rows) }
    })
})
