/**
 * `sft`: supervised fine-tuning of a pretrained model on prompt/response demonstrations, with the
 * loss on response tokens only.
 */
import { Progress, Stage, StageInfo, Table } from "@rlhf/core"
import type * as ChatTemplate from "@rlhf/nn/ChatTemplate"
import type * as Prng from "@rlhf/nn/Prng"
import { Effect, Schema } from "effect"
import { metric, MetricRow, metricsTable } from "../schemas/MetricRow.ts"
import { SftRow } from "../schemas/SftRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
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

/** Params of sft (the model config comes from `init`). */
export const SftParams = Schema.Struct({
  steps: intParam(1, 500),
  batchSize: intParam(1, 16),
  /** Peak learning rate: linear warm-up over `warmupSteps`, then cosine decay to lr / 10. */
  lr: positiveParam(3e-4),
  warmupSteps: intParam(0, 20),
  weightDecay: nonNegativeParam(0),
  gradClip: positiveParam(1),
  /** Share of the examples held out (seeded) for the validation loss; 0: none. */
  valFraction: fractionParam(0.1),
  /** Validation loss every this many steps (and always after the last); 0: only after the last. */
  evalEvery: intParam(0, 100),
  /** Prompt token budget when an example does not fit the context; 0: half the context. */
  maxPromptTokens: intParam(0, 0),
  seed: intParam(0, 0),
  /** Data-parallel worker threads (1: in process); the stage holds this many CPU slots. */
  workers: intParam(1, 1)
})

const ROLES: ReadonlyArray<string> = ["user", "assistant", "system"]

/** Seeded held-out split of `n` items: indices of the training and validation sets, each ascending. */
export const splitIndices = (n: number, valFraction: number, seed: number, prng: typeof Prng): { train: number[]; val: number[] } => {
  // At least one example on each side when there are two or more; none held out for 0.
  const nVal = valFraction > 0 && n >= 2 ? Math.min(n - 1, Math.max(1, Math.round(n * valFraction))) : 0
  const rng = prng.make(seed)
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  const val = new Set(order.slice(0, nVal))
  const all = Array.from({ length: n }, (_, i) => i)
  return { train: all.filter((i) => !val.has(i)), val: all.filter((i) => val.has(i)) }
}

/**
 * Fine-tunes `init` (weights from pretrain or an earlier sft) on `examples` with the chat template
 * every stage shares. An example longer than the model's context is cut by the template's policy:
 * the prompt keeps its last tokens (oldest turns first), the response its first. Outputs the
 * `weights` and `metrics`: per step loss, gradNorm, lr, tokensPerSec (group "train"), the
 * held-out loss on response tokens (group "val"), and one-off counts: examples (groups
 * "train"/"val"), truncatedPrompts, truncatedResponses, droppedTurns.
 */
export const Sft = Stage.make({
  name: "sft",
  version: "1",
  description: "supervised fine-tuning on prompt/response demonstrations (loss on responses only)",
  inputs: { examples: SftRow, tokenizer: TokenizerRow, init: WeightsRow },
  outputs: { weights: WeightsRow, metrics: MetricRow },
  params: SftParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params: p }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const report = throttledProgress(yield* Progress)
      const nn = yield* Effect.promise(async () => ({
        ChatTemplate: await import("@rlhf/nn/ChatTemplate"),
        DataParallel: await import("@rlhf/nn/DataParallel"),
        Gpt: await import("@rlhf/nn/Gpt"),
        LmParallel: await import("@rlhf/nn/LmParallel"),
        Prng: await import("@rlhf/nn/Prng"),
        Tokenizer: await import("@rlhf/nn/Tokenizer"),
        Train: await import("@rlhf/nn/Train"),
        Weights: await import("@rlhf/nn/Weights")
      }))
      yield* stageBackend
      const fail = (reason: string, fix: string) => new ModelError({ node: info.node, reason, fix })
      const tok = yield* readTokenizer(nn.Tokenizer, inputs.tokenizer, info.node)
      const { config } = yield* attempt(info.node, () => nn.Weights.tableConfig(inputs.init.arrow), "Wire init to the weights output of a pretrain or sft node")
      if (config.vocabSize !== tok.vocabSize) {
        return yield* fail(
          `the init weights were trained with a vocabulary of ${config.vocabSize} tokens but the tokenizer has ${tok.vocabSize}`,
          "Wire tokenizer to the same tokenizer-train output as the pretrain node that produced init"
        )
      }
      const rows = Table.toRows(inputs.examples)
      if (rows.length === 0) return yield* fail("the examples table is empty", "Wire examples to a non-empty SFT data source")
      const conversations: Array<{ turns: ChatTemplate.Turn[]; response: string }> = []
      for (const [i, row] of rows.entries()) {
        const bad = row.prompt.findIndex((t) => !ROLES.includes(t.role))
        if (bad >= 0) return yield* fail(`examples row ${i}: prompt[${bad}].role is ${JSON.stringify(row.prompt[bad]!.role)}`, `Use one of ${ROLES.join(", ")}`)
        conversations.push({ turns: row.prompt.map((t) => ({ role: t.role as ChatTemplate.Role, content: t.content })), response: row.response })
      }
      const formatted = nn.ChatTemplate.formatExamples(tok, conversations, config.contextLength, p.maxPromptTokens > 0 ? { maxPromptTokens: p.maxPromptTokens } : {})
      const seed = stageSeed(info.seed, p.seed)
      const split = splitIndices(formatted.examples.length, p.valFraction, seed, nn.Prng)
      const train = split.train.map((i) => formatted.examples[i]!), val = split.val.map((i) => formatted.examples[i]!)
      const { truncation } = formatted
      yield* Effect.logInfo(`${train.length} training and ${val.length} held-out examples; truncated to ${config.contextLength} tokens: ${truncation.prompts} prompts, ${truncation.responses} responses`)

      const init = yield* attempt(info.node, () => nn.Weights.loadWeights(inputs.init.arrow), "Wire init to the weights output of a pretrain or sft node")
      const result = yield* attempt(info.node, () =>
        nn.DataParallel.withPool({ workers: p.workers, models: { lm: { config, head: "lm" } }, taskModules: [nn.LmParallel.taskModule] }, (pool) => nn.Train.sftLm(train, init, {
          steps: p.steps,
          batchSize: p.batchSize,
          lr: p.lr,
          warmup: Math.min(p.warmupSteps, p.steps),
          seed,
          weightDecay: p.weightDecay,
          maxGradNorm: p.gradClip,
          ...(val.length > 0 ? { valExamples: val, evalEvery: p.evalEvery > 0 ? p.evalEvery : p.steps } : {}),
          onProgress: (m) => report(m.step + 1, p.steps, stepLine(m)),
          ...(pool === undefined ? {} : { stepper: dataParallel(info, nn.LmParallel.lmStepper(pool), pool.size) })
        }))).pipe(Effect.ensuring(Effect.sync(() => nn.Gpt.dispose(init))))
      const { model, metrics } = result
      const tokensPerSec = meanTokensPerSec(metrics)
      info.record("tokensPerSec", tokensPerSec.toFixed(0))
      yield* Effect.logInfo(`trained ${p.steps} steps, ${tokensPerSec.toFixed(0)} tokens/s; final ${stepLine(metrics.at(-1)!)}`)
      const weights = yield* Table.fromArrow(WeightsRow, nn.Weights.weightsToTable(model), "weights").pipe(
        Effect.ensuring(Effect.sync(() => nn.Gpt.dispose(model)))
      )
      return {
        weights,
        metrics: metricsTable([
          metric("examples", train.length, "train"),
          metric("examples", val.length, "val"),
          metric("truncatedPrompts", truncation.prompts),
          metric("truncatedResponses", truncation.responses),
          metric("droppedTurns", truncation.droppedTurns),
          ...stepMetricRows(metrics)
        ])
      }
    })
})
