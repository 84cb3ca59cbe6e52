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
import { Pipeline } from "@rlhf/core"
import { Dedupe } from "@rlhf/stages/data/Dedupe"
import { Preferences } from "@rlhf/stages/data/Preferences"
import { Split } from "@rlhf/stages/data/Split"
import { TextCorpus } from "@rlhf/stages/data/TextCorpus"
import { Pretrain } from "@rlhf/stages/model/Pretrain"
import { RmEval } from "@rlhf/stages/model/RmEval"
import { RmTrain } from "@rlhf/stages/model/RmTrain"
import { Sft } from "@rlhf/stages/model/Sft"
import { TokenizerTrain } from "@rlhf/stages/model/TokenizerTrain"
import { Schema } from "effect"
import { ChosenAsSft } from "./reward-model/ChosenAsSft.ts"
import { CorpusMix } from "./reward-model/CorpusMix.ts"
import { LengthBalancePerSource } from "./reward-model/LengthBalancePerSource.ts"

/** A shared data file, as a path relative to the directory the CLI runs from (the repo root). */
const shared = (file: string) => path.relative(process.cwd(), path.join(import.meta.dirname, "../../shared/data", file))

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
    params: { epochs: 2, batchSize: 16, lr: 2e-4, warmupSteps: 20, scorePrior: 0.01, evalEvery: 50, evalSize: 128 }
  })
  p.add("rm-eval-val", RmEval, { inputs: { pairs: split.out.validation, tokenizer: tokenizer.out.tokenizer, weights: rm.out.weights } })
  const heldout = p.add("heldout", Preferences, { params: { path: shared("preferences/dpo-en-demo.json") } })
  p.add("rm-eval", RmEval, { inputs: { pairs: heldout.out.pairs, tokenizer: tokenizer.out.tokenizer, weights: rm.out.weights } })
})
