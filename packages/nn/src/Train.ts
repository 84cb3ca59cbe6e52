/**
 * Straight-line training helpers: one optimiser step, the LM loss, and the pretraining and SFT
 * loops (plain functions; the engine's stages wrap them).
 */
import * as tf from "@tensorflow/tfjs-core"
import * as AdamW from "./AdamW.ts"
import * as Gpt from "./Gpt.ts"
import * as LrSchedule from "./LrSchedule.ts"
import * as ops from "./ops.ts"
import * as Prng from "./Prng.ts"
import * as Tokenizer from "./Tokenizer.ts"

/** A loss over a batch; must return a scalar. */
export type LossFn<B> = (model: Gpt.Model, batch: B) => tf.Scalar

/** Result of one step. */
export interface StepResult {
  readonly loss: number
  /** Global gradient norm before clipping. */
  readonly gradNorm: number
}

/**
 * One optimiser step under tf.tidy: gradients of `lossFn` w.r.t. all model parameters, global-norm
 * clipping to `maxGradNorm` (default 1), AdamW update at `lr` (default 1e-3).
 */
export const trainStep = <B>(
  model: Gpt.Model,
  opt: AdamW.Optimizer,
  lossFn: LossFn<B>,
  batch: B,
  options: { lr?: number; maxGradNorm?: number } = {}
): StepResult => {
  const names = new Map([...model.params].map(([n, v]) => [v.name, n]))
  const [loss, norm] = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => lossFn(model, batch), [...model.params.values()])
    const byName = new Map(Object.entries(grads).map(([vn, g]) => [names.get(vn)!, g]))
    const clipped = AdamW.clipByGlobalNorm(byName, options.maxGradNorm ?? 1)
    AdamW.apply(opt, model.params, clipped.grads, options.lr ?? 1e-3)
    return [value, clipped.norm]
  })
  const result = { loss: loss.dataSync()[0]!, gradNorm: norm.dataSync()[0]! }
  loss.dispose(), norm.dispose()
  return result
}

/** Masked mean cross entropy of `logits` [B, T, V] against int32 `targets` [B, T]; mask [B, T] (1 = counts). */
export const lmLoss = (logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar =>
  tf.tidy(() => {
    const [b, t, v] = logits.shape
    const ce = ops.softmaxCrossEntropy(tf.reshape(logits, [b * t, v]), tf.reshape(targets, [b * t])) // [B*T]
    const m = tf.reshape(tf.cast(mask, "float32"), [b * t])
    return tf.div(tf.sum(tf.mul(ce, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar
  })

/** Next-token batch: inputs and targets [B, T], loss mask and attention mask [B, T]. */
export interface LmBatch {
  readonly ids: tf.Tensor2D
  readonly targets: tf.Tensor2D
  readonly lossMask: tf.Tensor2D
  readonly attentionMask: tf.Tensor2D
}

/** The LM loss of a model on a batch (a {@link LossFn}). */
export const lmBatchLoss: LossFn<LmBatch> = (model, batch) =>
  tf.tidy(() => lmLoss(Gpt.logits(model, batch.ids, batch.attentionMask), batch.targets, batch.lossMask))

const disposeBatch = (b: LmBatch) => [b.ids, b.targets, b.lossMask, b.attentionMask].forEach((t) => t.dispose())

// Windows of contextLength + 1 tokens starting at `starts`: inputs and shifted targets.
const windowBatch = (corpus: Int32Array, starts: ReadonlyArray<number>, t: number): LmBatch => {
  const ids = new Int32Array(starts.length * t), targets = new Int32Array(starts.length * t)
  starts.forEach((s, i) => (ids.set(corpus.subarray(s, s + t), i * t), targets.set(corpus.subarray(s + 1, s + t + 1), i * t)))
  const shape: [number, number] = [starts.length, t]
  return { ids: tf.tensor2d(ids, shape, "int32"), targets: tf.tensor2d(targets, shape, "int32"), lossMask: tf.ones(shape), attentionMask: tf.ones(shape) }
}

/**
 * Mean next-token loss over `ids` in non-overlapping windows of the model's context
 * (at most `maxWindows`, spread evenly; every target token in them counted once).
 */
export const evalLmLoss = (model: Gpt.Model, ids: Int32Array, options: { batchSize?: number; maxWindows?: number } = {}): number => {
  const t = model.config.contextLength
  const all = Math.floor((ids.length - 1) / t)
  if (all < 1) throw new Error(`evalLmLoss: ${ids.length} tokens are fewer than one window of ${t + 1}`)
  const n = Math.min(all, options.maxWindows ?? all)
  const starts = Array.from({ length: n }, (_, i) => Math.floor((i * all) / n) * t)
  const bs = options.batchSize ?? 16
  let total = 0
  for (let i = 0; i < n; i += bs) {
    const batch = windowBatch(ids, starts.slice(i, i + bs), t)
    total += tf.tidy(() => lmBatchLoss(model, batch).dataSync()[0]!) * batch.ids.shape[0]
    disposeBatch(batch)
  }
  return total / n
}

/** Per-step training metrics. */
export interface StepMetrics {
  readonly step: number
  readonly loss: number
  readonly gradNorm: number
  readonly lr: number
  /** Real (unpadded) tokens in the step's batch. */
  readonly tokens: number
  readonly tokensPerSec: number
  readonly valLoss?: number
}

/** A replacement for {@link trainStep} on LM batches (LmParallel.lmStepper: data-parallel across workers). */
export interface LmStepper {
  readonly step: (model: Gpt.Model, opt: AdamW.Optimizer, batch: LmBatch, o: { lr: number; maxGradNorm: number }) => StepResult
}

/** Options shared by the training loops. */
export interface LoopOptions {
  readonly steps: number
  readonly batchSize: number
  readonly lr: number
  /** Linear warm-up steps (default steps / 20); then cosine decay to lr / 10. */
  readonly warmup?: number
  readonly seed?: number
  readonly weightDecay?: number
  readonly maxGradNorm?: number
  readonly onProgress?: (m: StepMetrics) => void
  /** Takes the optimiser steps instead of trainStep (e.g. data-parallel workers); evaluation stays here. */
  readonly stepper?: LmStepper
}

// Shared loop: schedule, optimiser, timing, optional evaluation.
const runLoop = (model: Gpt.Model, o: LoopOptions, next: (step: number) => LmBatch, evaluate?: (step: number) => number | undefined): StepMetrics[] => {
  const opt = AdamW.make(model.params, o.weightDecay === undefined ? {} : { weightDecay: o.weightDecay })
  const schedule = LrSchedule.warmupCosine({ lr: o.lr, warmup: o.warmup ?? Math.ceil(o.steps / 20), total: o.steps })
  const metrics: StepMetrics[] = []
  try {
    for (let step = 0; step < o.steps; step++) {
      const t0 = performance.now()
      const batch = next(step)
      const tokens = tf.tidy(() => tf.sum(batch.attentionMask).dataSync()[0]!)
      const lr = schedule(step)
      const r = o.stepper !== undefined
        ? o.stepper.step(model, opt, batch, { lr, maxGradNorm: o.maxGradNorm ?? 1 })
        : trainStep(model, opt, lmBatchLoss, batch, o.maxGradNorm === undefined ? { lr } : { lr, maxGradNorm: o.maxGradNorm })
      disposeBatch(batch)
      const seconds = (performance.now() - t0) / 1000
      const valLoss = evaluate?.(step)
      const m: StepMetrics = { step, ...r, lr, tokens, tokensPerSec: tokens / seconds, ...(valLoss === undefined ? {} : { valLoss }) }
      metrics.push(m)
      o.onProgress?.(m)
    }
  } finally {
    AdamW.dispose(opt)
  }
  return metrics
}

/** Options of {@link pretrainLm}. */
export interface PretrainOptions extends LoopOptions {
  /** Evaluate on valIds every this many steps and at the last step. */
  readonly evalEvery?: number
  readonly valIds?: Int32Array
  /** Windows used per evaluation (default 64). */
  readonly evalWindows?: number
  /** Start from these weights (copied) instead of a fresh init. */
  readonly init?: Gpt.Model
}

/** Next-token pretraining on random windows of a token stream. Returns a new model and per-step metrics. */
export const pretrainLm = (corpusIds: Int32Array, config: Gpt.Config, o: PretrainOptions): { model: Gpt.Model; metrics: StepMetrics[] } => {
  const t = config.contextLength
  if (corpusIds.length < t + 2) throw new Error(`pretrainLm: corpus of ${corpusIds.length} tokens is shorter than one window of ${t + 1}`)
  const model = o.init ? Gpt.initFrom(o.init, { head: "lm", seed: o.seed ?? 0 }) : Gpt.init(config, { seed: o.seed ?? 0 })
  const rng = Prng.make((o.seed ?? 0) + 1)
  const next = () => windowBatch(corpusIds, Array.from({ length: o.batchSize }, () => rng.int(corpusIds.length - t - 1)), t)
  const evaluate = (step: number) => {
    const due = o.valIds !== undefined && o.evalEvery !== undefined && ((step + 1) % o.evalEvery === 0 || step === o.steps - 1)
    return due ? evalLmLoss(model, o.valIds!, { maxWindows: o.evalWindows ?? 64 }) : undefined
  }
  return { model, metrics: disposingOnError(model, () => runLoop(model, o, next, evaluate)) }
}

// The loops create the model they return; one that fails part-way must not leak its variables.
const disposingOnError = <A>(model: Gpt.Model, body: () => A): A => {
  try {
    return body()
  } catch (e) {
    Gpt.dispose(model)
    throw e
  }
}

/** A prompt/response pair as token ids (the response normally ends with <|endoftext|>). */
export interface SftExample {
  readonly prompt: Int32Array
  readonly response: Int32Array
}

/**
 * Batch of prompt+response sequences, right-padded with <|pad|>, cut to the context; the loss
 * mask selects targets that are response tokens.
 */
export const sftBatch = (examples: ReadonlyArray<SftExample>, contextLength: number): LmBatch => {
  const seqs = examples.map((e) => {
    const s = new Int32Array(e.prompt.length + e.response.length)
    s.set(e.prompt), s.set(e.response, e.prompt.length)
    return { s: s.subarray(0, contextLength + 1), p: e.prompt.length }
  })
  const t = Math.max(1, ...seqs.map(({ s }) => s.length - 1))
  const n = examples.length
  const ids = new Int32Array(n * t).fill(Tokenizer.PAD), targets = new Int32Array(n * t).fill(Tokenizer.PAD)
  const loss = new Float32Array(n * t), attn = new Float32Array(n * t)
  seqs.forEach(({ s, p }, i) => {
    for (let j = 0; j + 1 < s.length; j++) {
      ids[i * t + j] = s[j]!, targets[i * t + j] = s[j + 1]!, attn[i * t + j] = 1
      loss[i * t + j] = j + 1 >= p ? 1 : 0 // target j + 1 is a response token
    }
  })
  const shape: [number, number] = [n, t]
  return { ids: tf.tensor2d(ids, shape, "int32"), targets: tf.tensor2d(targets, shape, "int32"), lossMask: tf.tensor2d(loss, shape), attentionMask: tf.tensor2d(attn, shape) }
}

/**
 * Mean next-token loss over the response tokens of `examples` (every response token counted once,
 * whatever the batching), as `sftLm` trains it.
 */
export const evalSftLoss = (model: Gpt.Model, examples: ReadonlyArray<SftExample>, options: { batchSize?: number } = {}): number => {
  const bs = options.batchSize ?? 16
  let nll = 0, tokens = 0
  for (let i = 0; i < examples.length; i += bs) {
    const batch = sftBatch(examples.slice(i, i + bs), model.config.contextLength)
    const [loss, count] = tf.tidy(() => [lmBatchLoss(model, batch).dataSync()[0]!, tf.sum(batch.lossMask).dataSync()[0]!])
    disposeBatch(batch)
    nll += loss! * count!, (tokens += count!)
  }
  if (tokens === 0) throw new Error(`evalSftLoss: the ${examples.length} examples have no response tokens`)
  return nll / tokens
}

/** Options of {@link sftLm}. */
export interface SftOptions extends LoopOptions {
  /** Evaluate on valExamples every this many steps and at the last step. */
  readonly evalEvery?: number
  readonly valExamples?: ReadonlyArray<SftExample>
}

/** Supervised fine-tuning (loss on response tokens only), shuffled epochs. Returns a new model. */
export const sftLm = (examples: ReadonlyArray<SftExample>, init: Gpt.Model | Gpt.Config, o: SftOptions): { model: Gpt.Model; metrics: StepMetrics[] } => {
  if (examples.length === 0) throw new Error("sftLm: no examples")
  const model = "params" in init ? Gpt.initFrom(init, { head: "lm", seed: o.seed ?? 0 }) : Gpt.init(init, { seed: o.seed ?? 0 })
  const rng = Prng.make((o.seed ?? 0) + 1)
  let order: number[] = [], at = 0
  const next = () => {
    const picked: SftExample[] = []
    while (picked.length < Math.min(o.batchSize, examples.length)) {
      if (at >= order.length) {
        order = examples.map((_, i) => i)
        for (let i = order.length - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j]!, order[i]!] }
        at = 0
      }
      picked.push(examples[order[at++]!]!)
    }
    return sftBatch(picked, model.config.contextLength)
  }
  const evaluate = (step: number) => {
    const due = o.valExamples !== undefined && o.valExamples.length > 0 && o.evalEvery !== undefined && ((step + 1) % o.evalEvery === 0 || step === o.steps - 1)
    return due ? evalSftLoss(model, o.valExamples!) : undefined
  }
  return { model, metrics: disposingOnError(model, () => runLoop(model, o, next, evaluate)) }
}
