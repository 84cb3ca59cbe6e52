/**
 * The ChatGLM-RLHF practice as a pipeline builder, shared by the reference pipeline (built-in
 * task) and the real-data pipeline. Every default here is a `--set` away.
 *
 *   sources → tokenizer → pretrain → sft
 *   preferences → dedupe → length-balance → split → rm-train → rm-eval
 *   rl-prompts → reference-baseline, prompt-filter → ppo/1 … ppo/N (rollout → update with PTX) → eval → eval-summary
 *   rl-prompts → dpo-pairs (SFT samples labelled by the RM) → dpo → dpo-eval → dpo-eval-summary
 */
import type { Builder, Node, OutputRef } from "@rlhf/core"
import { Dedupe } from "@rlhf/stages/data/Dedupe"
import { CorpusSource, EvalPromptSource, PreferenceSource, RlPromptSource, SftSource } from "@rlhf/stages/data/DefaultSources"
import { LengthBalance } from "@rlhf/stages/data/LengthBalance"
import { Split } from "@rlhf/stages/data/Split"
import { Pretrain } from "@rlhf/stages/model/Pretrain"
import { RmEval } from "@rlhf/stages/model/RmEval"
import { RmTrain } from "@rlhf/stages/model/RmTrain"
import { Sft } from "@rlhf/stages/model/Sft"
import { TokenizerTrain } from "@rlhf/stages/model/TokenizerTrain"
import { Dpo } from "@rlhf/stages/policy/DpoTrain"
import { Eval } from "@rlhf/stages/policy/Eval"
import { EvalRm } from "@rlhf/stages/policy/EvalRm"
import { EvalSummary } from "@rlhf/stages/policy/EvalSummary"
import { PpoInit } from "@rlhf/stages/policy/PpoInit"
import { PpoIteration } from "@rlhf/stages/policy/PpoIteration"
import { PromptFilter } from "@rlhf/stages/policy/PromptFilter"
import { ReferenceBaseline } from "@rlhf/stages/policy/ReferenceBaseline"
import { RmLabelPairs } from "@rlhf/stages/policy/RmLabelPairs"
import type { WeightsRow } from "@rlhf/stages/schemas/WeightsRow"
import { Schema } from "effect"

/** Params of the source nodes (paths default to the built-in task). */
export interface Sources {
  readonly corpus?: Record<string, unknown>
  readonly sftData?: Record<string, unknown>
  readonly preferences?: Record<string, unknown>
  readonly rlPrompts?: Record<string, unknown>
  readonly evalPrompts?: Record<string, unknown>
  /** Pairs the RM never trains on, to measure it (the task's: clean, unbiased labels). */
  readonly heldout?: Record<string, unknown>
}

/** Default params per node id, merged under `--set`. */
export type Defaults = Readonly<Record<string, Record<string, unknown>>>

/** How the policies are judged: the task's ground-truth rule, or a judge RM trained on pairs the policy's RM never saw. */
export type Judge = { readonly kind: "task-rule" } | { readonly kind: "rm"; readonly weights: OutputRef<typeof WeightsRow> }

const params = (defaults: Defaults, id: string) => ({ params: defaults[id] ?? {} }) as { params: never }

/** Adds the whole practice to `p`; returns the main nodes. */
export const chatglmRlhf = (
  p: Builder,
  sources: Sources,
  defaults: Defaults,
  judgeOf?: (nodes: { readonly split: Node<typeof Split.outputs>; readonly tokenizer: Node<typeof TokenizerTrain.outputs>; readonly sft: Node<typeof Sft.outputs> }) => Judge
) => {
  // Data sources: each a `path` param; the default path generates the built-in task.
  const corpus = p.add("corpus", CorpusSource, { params: (sources.corpus ?? {}) as never })
  const sftData = p.add("sft-data", SftSource, { params: (sources.sftData ?? {}) as never })
  const preferences = p.add("preferences", PreferenceSource, { params: (sources.preferences ?? {}) as never })
  const rlPrompts = p.add("rl-prompts", RlPromptSource, { params: (sources.rlPrompts ?? {}) as never })
  const evalPrompts = p.add("eval-prompts", EvalPromptSource, { params: (sources.evalPrompts ?? {}) as never })

  // Language model: tokenizer → pretrain → SFT.
  const tokenizer = p.add("tokenizer", TokenizerTrain, { inputs: { texts: corpus.out.documents }, ...params(defaults, "tokenizer") })
  const tok = tokenizer.out.tokenizer
  const pretrain = p.add("pretrain", Pretrain, { inputs: { corpus: corpus.out.documents, tokenizer: tok }, ...params(defaults, "pretrain") })
  const sft = p.add("sft", Sft, { inputs: { examples: sftData.out.examples, tokenizer: tok, init: pretrain.out.weights }, ...params(defaults, "sft") })

  // Reward model: clean, balance by length, split, train with the score prior, evaluate.
  const dedupe = p.add("dedupe", Dedupe, { inputs: { pairs: preferences.out.pairs }, ...params(defaults, "dedupe") })
  const balanced = p.add("length-balance", LengthBalance, { inputs: { pairs: dedupe.out.kept, tokenizer: tok }, ...params(defaults, "length-balance") })
  const split = p.add("split", Split, { inputs: { pairs: balanced.out.pairs }, ...params(defaults, "split") })
  const rmTrain = p.add("rm-train", RmTrain, { inputs: { pairs: split.out.train, tokenizer: tok, init: sft.out.weights }, ...params(defaults, "rm-train") })
  const rm = rmTrain.out.weights
  // rm-eval-val: the validation side of the split (labels as noisy and balanced as training's);
  // rm-eval: held-out pairs the RM never saw (on the built-in task, labelled by the ground-truth rule).
  p.add("rm-eval-val", RmEval, { inputs: { pairs: split.out.validation, tokenizer: tok, weights: rm }, ...params(defaults, "rm-eval") })
  const heldout = p.add("heldout", PreferenceSource, { params: (sources.heldout ?? {}) as never })
  p.add("rm-eval", RmEval, { inputs: { pairs: heldout.out.pairs, tokenizer: tok, weights: rm }, ...params(defaults, "rm-eval") })

  // PPO: reference baseline r(x, y_ref), prompt filter, N cached iterations of rollout → update (+PTX).
  const baseline = p.add("reference-baseline", ReferenceBaseline, { inputs: { prompts: rlPrompts.out.prompts, tokenizer: tok, sft: sft.out.weights, rm }, ...params(defaults, "reference-baseline") })
  const filter = p.add("prompt-filter", PromptFilter, { inputs: { prompts: rlPrompts.out.prompts, tokenizer: tok, policy: sft.out.weights, rm }, ...params(defaults, "prompt-filter") })
  const init = p.add("ppo-init", PpoInit, { inputs: { init: rm }, ...params(defaults, "ppo-init") })
  const policy = p.group("ppo", (g) => {
    // `ppo.iterations` (default 6) is the group's; every other `ppo` default is a ppo-iteration param.
    const { iterations: defaultIterations = 6, ...ppoDefaults } = (defaults["ppo"] ?? {}) as { iterations?: number }
    const iterations = g.param("iterations", Schema.Int, defaultIterations)
    // Every param of ppo-iteration can be set for all iterations at once: `--set ppo.ptxCoef=0`.
    const fields = (PpoIteration.params as unknown as Schema.Struct<Schema.Struct.Fields>).fields
    const shared: Record<string, unknown> = { ptxCoef: 0.5, ...ppoDefaults }
    for (const [name, schema] of Object.entries(fields)) {
      if (name === "iteration") continue
      const value = g.param(name, schema as Schema.Top, shared[name] as never)
      if (value !== undefined) shared[name] = value
    }
    let s = { policy: sft.out.weights, critic: init.out.critic, policyOptimizer: init.out.policyOptimizer, criticOptimizer: init.out.criticOptimizer, state: init.out.state }
    for (let i = 1; i <= iterations; i++) {
      const it = g.group(String(i), (gi) =>
        gi.add("iteration", PpoIteration, {
          inputs: { prompts: filter.out.kept, tokenizer: tok, ref: sft.out.weights, rm, baseline: baseline.out.baseline, sft: sftData.out.examples, ...s },
          params: { ...shared, iteration: i } as never
        }))
      s = { policy: it.out.policy, critic: it.out.critic, policyOptimizer: it.out.policyOptimizer, criticOptimizer: it.out.criticOptimizer, state: it.out.state }
    }
    return s.policy
  })

  // Evaluation against SFT: the judge is never the RM that PPO optimised.
  const judge = judgeOf?.({ split, tokenizer, sft }) ?? { kind: "task-rule" as const }
  const evaluate = (prefix: string, weights: OutputRef<typeof WeightsRow>) => {
    const inputs = { prompts: evalPrompts.out.prompts, tokenizer: tok, policy: weights, baseline: sft.out.weights }
    const table = judge.kind === "task-rule"
      ? p.add(`${prefix}eval`, Eval, { inputs, ...params(defaults, "eval") }).out.eval
      : p.add(`${prefix}eval`, EvalRm, { inputs: { ...inputs, judge: judge.weights }, ...params(defaults, "eval") }).out.eval
    return p.add(`${prefix}eval-summary`, EvalSummary, { inputs: { eval: table, tokenizer: tok, policy: weights, baseline: sft.out.weights, sft: sftData.out.examples }, ...params(defaults, "eval-summary") })
  }
  const ppoSummary = evaluate("", policy)

  // DPO from SFT on pairs of SFT samples labelled by the RM (as the paper compares).
  const dpoPairs = p.add("dpo-pairs", RmLabelPairs, { inputs: { prompts: rlPrompts.out.prompts, tokenizer: tok, sft: sft.out.weights, rm }, ...params(defaults, "dpo-pairs") })
  const dpo = p.add("dpo", Dpo, { inputs: { pairs: dpoPairs.out.pairs, tokenizer: tok, sft: sft.out.weights }, ...params(defaults, "dpo") })
  const dpoSummary = evaluate("dpo-", dpo.out.weights)
  return { tokenizer, sft, rmTrain, policy, ppoSummary, dpoSummary }
}
