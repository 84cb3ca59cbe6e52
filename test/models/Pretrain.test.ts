/**
 * The models issue's pipeline-level check: tinyshakespeare read by the text-corpus source, a
 * tokenizer from tokenizer-train, a tiny GPT from pretrain — each stage's `run` as the runner
 * calls it — must predict held-out text better than a bigram model counted on the same split.
 */
import { existsSync } from "node:fs"
import * as path from "node:path"
import type { AnyStage } from "@rlhf/core"
import { Progress, StageInfo, Table } from "@rlhf/core"
import * as Tokenizer from "@rlhf/nn/Tokenizer"
import { TextCorpus } from "@rlhf/stages/data/TextCorpus"
import { encodeCorpus, holdoutSplit } from "@rlhf/stages/model/Corpus"
import type { TextRow } from "@rlhf/stages/schemas/TextRow"
import { Pretrain } from "@rlhf/stages/model/Pretrain"
import { TokenizerTrain } from "@rlhf/stages/model/TokenizerTrain"
import { Effect, Layer, Logger, Schema } from "effect"
import { expect, it } from "vitest"
import { bigramLoss } from "./Bigram.ts"

const repoRoot = path.resolve(import.meta.dirname, "../..")
const corpusFile = "../shared/data/pretrain/tinyshakespeare.txt"

// Runs a stage's `run` with the runner's services, from the repository root, recording lineage.
const run = (stage: AnyStage, inputs: Record<string, Table.Table>, params: unknown, lineage: Record<string, string> = {}) => {
  const services = Layer.mergeAll(
    Progress.silent,
    Logger.layer([]),
    Layer.succeed(StageInfo, StageInfo.of({ node: stage.name, seed: 0, device: null, cwd: repoRoot, record: (k, v) => void (lineage[k] = v) }))
  )
  return Effect.runPromise(stage.run({ inputs, params: Schema.decodeUnknownSync(stage.params)(params) }).pipe(Effect.provide(services))) as Promise<Record<string, Table.Table>>
}

// Byte-level tokens (no merges): against characters a bigram model is weak and context pays off
// quickly. 300 steps of 32 windows of 32 tokens (≈ 0.3 epochs) take well under a minute on the
// native backend and about a minute on wasm on an idle 2-core machine; held out: the last 3%.
const vocabSize = 261
const params = { dModel: 64, nLayers: 2, nHeads: 4, contextLength: 32, batchSize: 32, steps: 300, lr: 3e-3, warmupSteps: 20, valFraction: 0.03, evalEvery: 0, evalWindows: 0 }

it("a tiny model pretrained on tinyshakespeare beats a bigram model on held-out text", async () => {
  const file = path.resolve(repoRoot, corpusFile)
  if (!existsSync(file)) throw new Error(`missing ${file}: this test reads the shared data beside the repository (../shared/data); do not copy it into the repo`)
  const { documents } = await run(TextCorpus, {}, { path: corpusFile })
  const { tokenizer } = await run(TokenizerTrain, { texts: documents! }, { vocabSize })
  const lineage: Record<string, string> = {}
  const t0 = performance.now()
  const { metrics } = await run(Pretrain, { corpus: documents!, tokenizer: tokenizer! }, params, lineage)
  const seconds = (performance.now() - t0) / 1000
  const rows = Table.toRows(metrics!) as Array<{ name: string; value: number; step: number | null; group: string | null }>
  const val = rows.filter((r) => r.name === "loss" && r.group === "val")
  const train = rows.filter((r) => r.name === "loss" && r.group === "train")

  // The baseline on exactly the stage's split: the same tokenizer, token stream and held-out tail.
  const tok = Tokenizer.tokenizerFromTable(tokenizer!.arrow)
  const split = holdoutSplit(encodeCorpus(tok, Table.columnValues(documents as Table.Table<typeof TextRow>, "text"), params.contextLength).ids, params.valFraction)
  expect(rows.find((r) => r.name === "tokens" && r.group === "val")!.value).toBe(split.val.length)
  const bigram = bigramLoss(split.train, split.val, tok.vocabSize)
  console.log(`pretrain on tinyshakespeare: held-out loss ${val.at(-1)!.value.toFixed(3)} vs bigram ${bigram.loss.toFixed(3)} ` +
    `(${split.val.length} tokens); train loss ${train[0]!.value.toFixed(3)} -> ${train.at(-1)!.value.toFixed(3)}; ` +
    `${lineage["backend"]}, ${lineage["tokensPerSec"]} tokens/s, ${seconds.toFixed(1)} s`)
  // Evaluated once, after the last step, on every held-out token.
  expect(val.map((r) => r.step)).toEqual([params.steps - 1])
  expect(val[0]!.value).toBeLessThan(bigram.loss - 0.1)
  expect(train.at(-1)!.value).toBeLessThan(train[0]!.value - 2.5)
}, 600_000)
