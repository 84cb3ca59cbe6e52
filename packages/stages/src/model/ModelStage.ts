/**
 * What the language-model stages (tokenizer-train, pretrain, sft) share: param schemas, the tensor
 * backend (resolved lazily and recorded in lineage), the seed, throttled progress, reading a
 * tokenizer input, and per-step training metrics in the long MetricRow format.
 *
 * Only type imports from @rlhf/nn here: TensorFlow.js is loaded inside `run`, so a pipeline file
 * that imports a model stage stays cheap to load.
 */
import { type Progress, StageInfo, type Table } from "@rlhf/core"
import type * as TensorBackend from "@rlhf/nn/TensorBackend"
import type * as Tokenizer from "@rlhf/nn/Tokenizer"
import type * as Train from "@rlhf/nn/Train"
import { Effect, Schema } from "effect"
import { TokenizerInputError } from "../data/DataErrors.ts"
import { metric, type MetricRow } from "../schemas/MetricRow.ts"
import type { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { describeFailure, messageOf } from "./Failure.ts"
import { ModelError } from "./ModelError.ts"

/** An integer param ≥ `min` with a default. */
export const intParam = (min: number, value: number) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(min)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A number param > 0 with a default. */
export const positiveParam = (value: number) =>
  Schema.Number.check(Schema.isGreaterThan(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A number param ≥ 0 with a default. */
export const nonNegativeParam = (value: number) =>
  Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** A fraction param in [0, 1) with a default. */
export const fractionParam = (value: number) =>
  Schema.Number.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThan(1)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/**
 * Picks the TensorFlow.js backend (once per process; the GPU path only when asked), logging the
 * slow-fallback warning through Effect. Used by stages and by the CLI's generate helper.
 */
export const loadBackend = (gpu: boolean, node: string): Effect.Effect<TensorBackend.BackendInfo, ModelError> =>
  Effect.gen(function*() {
    const mod = yield* Effect.promise(() => import("@rlhf/nn/TensorBackend"))
    const warnings: string[] = []
    const info = yield* Effect.tryPromise({
      try: () => mod.resolveBackend({ gpu, warn: (w) => warnings.push(w) }),
      catch: (e) => new ModelError({ node, reason: `no TensorFlow.js backend loaded (${messageOf(e)})`, fix: "Unset RLHF_TF_BACKEND, or install @tensorflow/tfjs-backend-cpu" })
    })
    for (const w of warnings) yield* Effect.logWarning(w)
    return info
  })

/** The backend for the running node (its GPU when it was placed on one), recorded in lineage as `backend`. */
export const stageBackend: Effect.Effect<TensorBackend.BackendInfo, ModelError, StageInfo> = Effect.gen(function*() {
  const info = yield* StageInfo
  const backend = yield* loadBackend(info.device !== null, info.node)
  info.record("backend", `${backend.name} ${backend.version}`)
  yield* Effect.logInfo(`tensor backend: ${backend.name} ${backend.version}`)
  return backend
})

// murmur3's 32-bit finaliser: every input bit affects every output bit.
const fmix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The seed a stage trains with: the node's seed (from the runner) mixed with its own `seed` param. */
export const stageSeed = (runSeed: number, seed: number): number => fmix(fmix((runSeed >>> 0) ^ 0x9e3779b9) ^ (seed >>> 0))

/** A progress callback that reports at most every `intervalMs` (and always the last unit). */
export const throttledProgress = (progress: Progress["Service"], intervalMs = 500) => {
  let last = -Infinity
  return (done: number, total: number, info?: string): void => {
    const now = performance.now()
    if (done < total && now - last < intervalMs) return
    last = now
    progress.update(info === undefined ? { done, total } : { done, total, info })
  }
}

/** Records in lineage that the node trains data-parallel on `threads` threads (`dataParallel`); returns `what`. */
export const dataParallel = <A>(info: StageInfo["Service"], what: A, threads: number): A => {
  info.record("dataParallel", `${threads} threads`)
  return what
}

/** Runs synchronous model code; a thrown error becomes a ModelError naming the node (a thrown ModelError stays as it is). */
export const attempt = <A>(node: string, body: () => A, fix = "See the stage log for details"): Effect.Effect<A, ModelError> =>
  Effect.try({ try: body, catch: (e) => e instanceof ModelError ? e : new ModelError({ node, ...describeFailure(e, fix) }) })

/** The tokenizer of a `tokenizer` input (a table from tokenizer-train). */
export const readTokenizer = (
  tokenizer: typeof Tokenizer,
  table: Table.Table<typeof TokenizerRow>,
  node: string
): Effect.Effect<Tokenizer.Tokenizer, TokenizerInputError> =>
  Effect.try({ try: () => tokenizer.tokenizerFromTable(table.arrow), catch: (e) => new TokenizerInputError({ node, reason: messageOf(e) }) })

/** "12.3k" for 12345. */
export const compact = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0))

/** The progress line of a training step: `loss 2.310 · val 2.402 · 5.2k tok/s`. */
export const stepLine = (m: Train.StepMetrics): string =>
  [`loss ${m.loss.toFixed(3)}`, ...(m.valLoss === undefined ? [] : [`val ${m.valLoss.toFixed(3)}`]), `${compact(m.tokensPerSec)} tok/s`].join(" · ")

/**
 * Metric rows of the training steps: per step (group "train") loss, gradNorm, lr, tokensPerSec,
 * and at evaluation steps the held-out loss (name "loss", group "val").
 */
export const stepMetricRows = (metrics: ReadonlyArray<Train.StepMetrics>): Array<typeof MetricRow.Type> =>
  metrics.flatMap((m) => [
    metric("loss", m.loss, "train", m.step),
    metric("gradNorm", m.gradNorm, "train", m.step),
    metric("lr", m.lr, "train", m.step),
    metric("tokensPerSec", m.tokensPerSec, "train", m.step),
    ...(m.valLoss === undefined ? [] : [metric("loss", m.valLoss, "val", m.step)])
  ])

/**
 * Training throughput: all tokens over all step time (evaluations left out), skipping the first
 * step, which pays for kernel set-up.
 */
export const meanTokensPerSec = (metrics: ReadonlyArray<Train.StepMetrics>): number => {
  const timed = metrics.length > 1 ? metrics.slice(1) : metrics
  const tokens = timed.reduce((s, m) => s + m.tokens, 0)
  const seconds = timed.reduce((s, m) => s + m.tokens / m.tokensPerSec, 0)
  return seconds > 0 ? tokens / seconds : 0
}
