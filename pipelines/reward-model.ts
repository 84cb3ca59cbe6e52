/**
 * The reward-model half of ChatGLM-RLHF (Hou et al. 2024) on the shared English human-labelled
 * preferences (Anthropic hh-rlhf harmless, Open-Assistant rankings):
 *
 *   corpus + sft-data → tokenizer → pretrain → sft
 *   preferences → dedupe → length-balance → split → rm-train → rm-eval-val (validation side)
 *                                                            → rm-eval     (heldout file)
 *
 *   pnpm rlhf run pipelines/reward-model.ts
 *   pnpm rlhf show pipelines/reward-model.ts rm-eval-val          # accuracy per source vs length baseline
 *   pnpm rlhf run pipelines/reward-model.ts --set length-balance.enabled=false
 *   pnpm rlhf run pipelines/reward-model.ts --set rm-train.scorePrior=0
 *
 * The language-model side never reads the cleaned preference table, so changing a data-cleaning
 * param (dedupe, length-balance, split) reruns only the preference side and the reward model.
 * Defaults are sized for a 2-core CPU with the native kernels (about 10–15 minutes in all).
 */
import * as path from "node:path"
import { Pipeline, Stage, Table } from "@rlhf/core"
import { Dedupe } from "@rlhf/stages/data/Dedupe"
import { LengthBalance } from "@rlhf/stages/data/LengthBalance"
import { Preferences } from "@rlhf/stages/data/Preferences"
import { Split } from "@rlhf/stages/data/Split"
import { TextCorpus } from "@rlhf/stages/data/TextCorpus"
import { Pretrain } from "@rlhf/stages/model/Pretrain"
import { RmEval } from "@rlhf/stages/model/RmEval"
import { RmTrain } from "@rlhf/stages/model/RmTrain"
import { Sft } from "@rlhf/stages/model/Sft"
import { TokenizerTrain } from "@rlhf/stages/model/TokenizerTrain"
import { metricsTable, MetricRow } from "@rlhf/stages/schemas/MetricRow"
import { PreferenceRow } from "@rlhf/stages/schemas/PreferenceRow"
import { SftRow } from "@rlhf/stages/schemas/SftRow"
import { TextRow } from "@rlhf/stages/schemas/TextRow"
import { TokenizerRow } from "@rlhf/stages/schemas/TokenizerRow"
import { Effect, Schema } from "effect"

/** A shared data file, as a path relative to the directory the CLI runs from (the repo root). */
const shared = (file: string) => path.relative(process.cwd(), path.join(import.meta.dirname, "../../shared/data", file))

/** The text of a conversation (prompt turns, then a response), as the model reads dialogue. */
const dialogue = (prompt: ReadonlyArray<{ role: string; content: string }>, response: string) =>
  [...prompt.map((t) => `${t.role === "user" ? "User" : t.role === "assistant" ? "Assistant" : "System"}: ${t.content}`), `Assistant: ${response}`].join("\n\n")

/**
 * The pretraining corpus: the plain-text corpus followed by the dialogues of the preference pairs
 * (each prompt with its chosen and with its rejected response, each distinct text once). No labels
 * enter: both responses are there, as plain text.
 */
const CorpusMix = Stage.make({
  name: "corpus-mix",
  version: "1",
  description: "plain-text documents plus the dialogues of preference pairs, as one corpus",
  inputs: { texts: TextRow, pairs: PreferenceRow },
  outputs: { texts: TextRow },
  params: Schema.Struct({}),
  run: ({ inputs }) =>
    Effect.sync(() => {
      const seen = new Set<string>()
      const out = [...Table.columnValues(inputs.texts, "text")]
      for (const pair of Table.toRows(inputs.pairs)) {
        for (const response of [pair.chosen, pair.rejected]) {
          const text = dialogue(pair.prompt, response)
          if (!seen.has(text)) seen.add(text), out.push(text)
        }
      }
      return { texts: Table.fromColumns(TextRow, { text: out }) }
    })
})

/** SFT demonstrations: the chosen response of each preference pair, each (prompt, response) once. */
const ChosenAsSft = Stage.make({
  name: "chosen-as-sft",
  version: "1",
  description: "the chosen responses of preference pairs as SFT demonstrations",
  inputs: { pairs: PreferenceRow },
  outputs: { examples: SftRow },
  params: Schema.Struct({}),
  run: ({ inputs }) =>
    Effect.sync(() => {
      const seen = new Set<string>()
      const rows: Array<typeof SftRow.Type> = []
      for (const pair of Table.toRows(inputs.pairs)) {
        const key = JSON.stringify([pair.prompt, pair.chosen])
        if (seen.has(key)) continue // Open-Assistant: the best reply is "chosen" against each lower rank
        seen.add(key)
        rows.push({ prompt: pair.prompt, response: pair.chosen, source: pair.source })
      }
      return { examples: Table.make(SftRow, rows, "examples") }
    })
})

/**
 * The length-balance stage applied to each source separately (same params), its pairs
 * concatenated in source order and its metric groups prefixed with the source. Balancing the
 * pooled pairs equalises "longer wins" over all sources together, and the sources lean opposite
 * ways (hh-rlhf harmless: the longer answer wins 44% of the time; Open-Assistant: 71%), so the
 * pooled result still lets length predict the label within each source — and a reward model then
 * learns length per source. Balanced per source, length predicts nothing within any of them.
 */
const LengthBalancePerSource = Stage.make({
  name: "length-balance-per-source",
  version: "1",
  description: "bucket-based length balancing within each source",
  inputs: { pairs: PreferenceRow, tokenizer: TokenizerRow },
  outputs: { pairs: PreferenceRow, metrics: MetricRow },
  params: LengthBalance.params,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const rows = Table.toRows(inputs.pairs)
      const sources = [...new Set(rows.map((r) => r.source))].sort()
      const kept: Array<typeof PreferenceRow.Type> = []
      const metrics: Array<typeof MetricRow.Type> = []
      for (const source of sources) {
        const pairs = Table.make(PreferenceRow, rows.filter((r) => r.source === source), "pairs")
        const out = yield* LengthBalance.run({ inputs: { pairs, tokenizer: inputs.tokenizer }, params })
        kept.push(...Table.toRows(out.pairs))
        metrics.push(...Table.toRows(out.metrics).map((m) => ({ ...m, group: m.group === null ? source : `${source}/${m.group}` })))
      }
      return { pairs: Table.make(PreferenceRow, kept, "pairs"), metrics: metricsTable(metrics) }
    })
})

const preferenceFiles = [shared("preferences/hh-rlhf-harmless.jsonl.gz"), shared("preferences/oasst-en-trees.jsonl")]

export default Pipeline.make("reward-model", (p) => {
  // One split of prompts for both sides, so the SFT model never sees a validation prompt's chosen
  // response. The split stage assigns each prompt by a seeded hash of the prompt alone, so applying
  // it to the raw files (SFT side) and to the cleaned pairs (RM side) puts every prompt on the
  // same side both times. Change the fraction with `--set validationFraction=…` (both splits follow).
  const splitParams = { validationFraction: p.param("validationFraction", Schema.Number, 0.15), seed: 0, groupBy: "prompt" as const }

  // ── Language model ────────────────────────────────────────────────────────────────────────────
  // The corpus: tinyshakespeare teaches English; the dialogues of the training pairs (below) make
  // the tokenizer and the LM at home in chat text, which is what the reward model reads.
  const corpus = p.add("corpus", TextCorpus, { params: { path: shared("pretrain/tinyshakespeare.txt") } })
  // SFT data: the chosen responses of the training-side preference pairs. A reward model starts
  // best from a model that has already read helpful/harmless answers to these very kinds of
  // prompts; identity.json (91 "who are you" answers) would teach it almost nothing about them.
  const sftData = p.add("sft-data", Preferences, { params: { path: preferenceFiles } })
  const sftSplit = p.add("sft-split", Split, { inputs: { pairs: sftData.out.pairs }, params: splitParams })
  const texts = p.add("corpus-mix", CorpusMix, { inputs: { texts: corpus.out.documents, pairs: sftSplit.out.train } })
  const tokenizer = p.add("tokenizer", TokenizerTrain, { inputs: { texts: texts.out.texts }, params: { vocabSize: 2048 } })
  const pretrain = p.add("pretrain", Pretrain, {
    inputs: { corpus: texts.out.texts, tokenizer: tokenizer.out.tokenizer },
    params: { dModel: 128, nLayers: 4, nHeads: 4, contextLength: 256, steps: 500, batchSize: 8, lr: 1e-3, warmupSteps: 50, evalEvery: 100 }
  })
  const demos = p.add("sft-examples", ChosenAsSft, { inputs: { pairs: sftSplit.out.train } })
  const sft = p.add("sft", Sft, {
    inputs: { examples: demos.out.examples, tokenizer: tokenizer.out.tokenizer, init: pretrain.out.weights },
    params: { steps: 150, batchSize: 16, lr: 3e-4, evalEvery: 50 }
  })

  // ── Preferences and the reward model ──────────────────────────────────────────────────────────
  const prefs = p.add("preferences", Preferences, { params: { path: preferenceFiles } })
  const dedupe = p.add("dedupe", Dedupe, { inputs: { pairs: prefs.out.pairs } })
  const balanced = p.add("length-balance", LengthBalancePerSource, { inputs: { pairs: dedupe.out.kept, tokenizer: tokenizer.out.tokenizer } })
  const split = p.add("split", Split, { inputs: { pairs: balanced.out.pairs }, params: splitParams })
  const rm = p.add("rm-train", RmTrain, {
    inputs: { pairs: split.out.train, tokenizer: tokenizer.out.tokenizer, init: sft.out.weights },
    params: { epochs: 2, batchSize: 16, lr: 1e-4, warmupSteps: 20, scorePrior: 0.01, evalEvery: 25 }
  })
  p.add("rm-eval-val", RmEval, { inputs: { pairs: split.out.validation, tokenizer: tokenizer.out.tokenizer, weights: rm.out.weights } })
  const heldout = p.add("heldout", Preferences, { params: { path: shared("preferences/dpo-en-demo.json") } })
  p.add("rm-eval", RmEval, { inputs: { pairs: heldout.out.pairs, tokenizer: tokenizer.out.tokenizer, weights: rm.out.weights } })
})
