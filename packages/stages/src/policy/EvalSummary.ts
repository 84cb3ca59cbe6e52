/**
 * `eval-summary`: one row from an eval table — win / tie / loss rates of the policy against the
 * baseline, moreWins = win − loss in points (the paper's headline number), mean judge scores,
 * mean response lengths in tokens (RLHF tends to lengthen answers), and the perplexity of each
 * model on SFT demonstrations (a rise means the policy forgot what SFT taught it).
 *
 * TensorFlow.js is loaded inside `run` only, so loading a pipeline file stays cheap.
 */
import { Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { EVAL_WINNERS, PolicyEvalRow } from "../schemas/PolicyEvalRow.ts"
import { PolicyEvalSummaryRow } from "../schemas/PolicyEvalSummaryRow.ts"
import { SftRow } from "../schemas/SftRow.ts"
import { TokenizerRow } from "../schemas/TokenizerRow.ts"
import { WeightsRow } from "../schemas/WeightsRow.ts"
import { CommonFields, int } from "./Params.ts"
import { PolicyError } from "./PolicyError.ts"
import { attempt, loadRuntime, progressCallback } from "./Runtime.ts"

/** Params of eval-summary. */
export const EvalSummaryParams = Schema.Struct({
  /** SFT demonstrations used for perplexity (the first ones; 0 = all). */
  maxExamples: int(0, 256),
  forwardBatchSize: int(1, 16),
  ...CommonFields
})

const mean = (xs: ReadonlyArray<number>): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)

/** Win/tie/loss, moreWins, lengths and SFT perplexities of a policy-vs-baseline evaluation. */
export const EvalSummary = Stage.make({
  name: "eval-summary",
  version: "1",
  description: "win/tie/loss rates, moreWins, mean response lengths and SFT-data perplexity (forgetting) of policy vs. baseline",
  inputs: { eval: PolicyEvalRow, tokenizer: TokenizerRow, policy: WeightsRow, baseline: WeightsRow, sft: SftRow },
  outputs: { summary: PolicyEvalSummaryRow },
  params: EvalSummaryParams,
  resources: (p) => ({ cpu: p.workers, gpu: 1 }),
  isolate: true,
  run: ({ inputs, params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const rows = Table.toRows(inputs.eval)
      if (rows.length === 0) return yield* new PolicyError({ node: info.node, reason: "the eval table is empty", fix: "Wire the eval output of an eval or eval-rm node that judged at least one prompt" })
      const bad = rows.findIndex((r) => !(EVAL_WINNERS as ReadonlyArray<string>).includes(r.winner))
      if (bad >= 0) return yield* new PolicyError({ node: info.node, reason: `eval row ${bad} has winner ${JSON.stringify(rows[bad]!.winner)}`, fix: `Winners must be one of ${EVAL_WINNERS.join(", ")}` })
      const { models, evals } = yield* loadRuntime
      const report = yield* progressCallback
      const sft = Table.toRows(inputs.sft)
      const used = params.maxExamples > 0 ? sft.slice(0, params.maxExamples) : sft
      const out = yield* attempt(info.node, () => {
        const tok = models.loadTokenizer(inputs.tokenizer)
        const length = (text: string) => tok.encode(text, { allowSpecial: false }).length
        return models.withModels([() => models.loadModel(inputs.policy, "policy", "lm"), () => models.loadModel(inputs.baseline, "baseline", "lm")], ([policy, baseline]) => {
          report(0, 2, "policy perplexity")
          const policyPerplexity = evals.perplexity(policy!, models.encodeSft(tok, used, policy!.config.contextLength), params.forwardBatchSize)
          report(1, 2, "baseline perplexity")
          const baselinePerplexity = evals.perplexity(baseline!, models.encodeSft(tok, used, baseline!.config.contextLength), params.forwardBatchSize)
          report(2, 2)
          return {
            policyPerplexity,
            baselinePerplexity,
            policyLength: mean(rows.map((r) => length(r.policy_response))),
            baselineLength: mean(rows.map((r) => length(r.baseline_response)))
          }
        })
      })
      const share = (w: string) => rows.filter((r) => r.winner === w).length / rows.length
      const win = share("policy"), tie = share("tie"), loss = share("baseline")
      return {
        summary: Table.make(PolicyEvalSummaryRow, [{
          prompts: rows.length,
          win,
          tie,
          loss,
          moreWins: 100 * (win - loss),
          policyScore: mean(rows.map((r) => r.policy_score)),
          baselineScore: mean(rows.map((r) => r.baseline_score)),
          ...out,
          sftExamples: used.length
        }], "summary")
      }
    })
})
