/**
 * eval (task-rule judge), eval-rm (reward-model judge) and eval-summary (win/tie/loss, moreWins,
 * lengths, SFT perplexity) on tiny models and hand-made tables.
 */
import { Table } from "@rlhf/core"
import * as ChatTemplate from "@rlhf/nn/ChatTemplate"
import * as Tokenizer from "@rlhf/nn/Tokenizer"
import * as Train from "@rlhf/nn/Train"
import * as Weights from "@rlhf/nn/Weights"
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import { Eval } from "../../src/policy/Eval.ts"
import { EvalRm } from "../../src/policy/EvalRm.ts"
import { EvalSummary } from "../../src/policy/EvalSummary.ts"
import * as Models from "../../src/policy/Models.ts"
import { PolicyError } from "../../src/policy/PolicyError.ts"
import { PolicyEvalRow } from "../../src/schemas/PolicyEvalRow.ts"
import { judge } from "../../src/task/Rule.ts"
import { bytes, letterRewardModel, promptTable, randomWeights, run, runError, sftTable, tokenizerTable, toyPrompts, toySft, toySftWeights } from "./Fixtures.ts"

const tokenizer = tokenizerTable()
const taskPrompts = promptTable(["list 3 fruits", "count to 4", "say hi to ann", "repeat la 3 times", "please greet bob politely"])
const random = randomWeights("lm", 3)
const other = randomWeights("lm", 4)
const toy = toySftWeights(30)
const sampling = { maxNewTokens: 8, forwardBatchSize: 8 }

describe("eval (task rule)", () => {
  it("judges both answers with the task's rule; the same model ties everywhere", async () => {
    const same = Table.toRows((await run(Eval, { prompts: taskPrompts, tokenizer, policy: random, baseline: random }, sampling)).eval)
    expect(same).toHaveLength(5)
    for (const r of same) {
      expect(r.policy_response).toBe(r.baseline_response) // greedy and the same weights
      expect(r.winner).toBe("tie")
    }
    const rows = Table.toRows((await run(Eval, { prompts: taskPrompts, tokenizer, policy: random, baseline: other }, sampling)).eval)
    expect(rows.map((r) => r.prompt)).toEqual(Table.toRows(taskPrompts).map((r) => r.prompt[0]!.content))
    for (const r of rows) {
      expect(r.policy_score).toBe(judge(r.prompt, r.policy_response))
      expect(r.baseline_score).toBe(judge(r.prompt, r.baseline_response))
      const d = r.policy_score - r.baseline_score
      expect(r.winner).toBe(Math.abs(d) <= 1e-6 ? "tie" : d > 0 ? "policy" : "baseline")
    }
  })

  it("greedy answers ignore the seed; sampled ones follow it", async () => {
    const inputs = { prompts: taskPrompts, tokenizer, policy: random, baseline: other }
    const a = await run(Eval, inputs, sampling), b = await run(Eval, inputs, { ...sampling, seed: 5 }, 7)
    expect(bytes(a.eval)).toEqual(bytes(b.eval))
    const s1 = await run(Eval, inputs, { ...sampling, greedy: false }), s2 = await run(Eval, inputs, { ...sampling, greedy: false, seed: 5 })
    expect(bytes(s1.eval)).toEqual(bytes((await run(Eval, inputs, { ...sampling, greedy: false })).eval))
    expect(bytes(s1.eval)).not.toEqual(bytes(s2.eval))
  })

  it("refuses prompts that are not the task's, pointing to eval-rm", async () => {
    const error = await runError(Eval, { prompts: promptTable(["tell me a joke"]), tokenizer, policy: random, baseline: other }, sampling)
    expect(error).toBeInstanceOf(PolicyError)
    expect((error as PolicyError).message).toMatch(/not a prompt of the default task.*eval-rm/)
  })
})

describe("eval-rm", () => {
  it("judges with the reward model: scores are its rewards of each answer", async () => {
    const judgeRm = letterRewardModel()
    const prompts = promptTable(toyPrompts.slice(0, 4))
    const rows = Table.toRows((await run(EvalRm, { prompts, tokenizer, policy: toy, baseline: random, judge: judgeRm }, { ...sampling, greedy: false, topK: 5 })).eval)
    const tok = Tokenizer.byteLevel()
    const model = Weights.loadWeights(judgeRm.arrow)
    let checked = 0
    for (const r of rows) {
      const d = r.policy_score - r.baseline_score
      expect(r.winner).toBe(Math.abs(d) <= 1e-6 ? "tie" : d > 0 ? "policy" : "baseline")
      // A finished a–d answer (shorter than maxNewTokens) re-encodes to its ids: bytes + <|endoftext|>.
      if (!/^[a-d]*$/.test(r.policy_response) || r.policy_response.length >= 8) continue
      const p = ChatTemplate.formatPrompt(tok, [{ role: "user", content: r.prompt }]).ids
      const score = Models.rewards(model, [p], [ChatTemplate.formatResponse(tok, r.policy_response).ids], 1)[0]!
      expect(r.policy_score).toBeCloseTo(score, 5)
      checked++
    }
    Models.disposeModels(model)
    expect(checked).toBeGreaterThanOrEqual(2)
    // The toy SFT model writes a–d answers (~25% a), the random one almost never an "a".
    expect(rows.filter((r) => r.winner === "policy").length).toBeGreaterThanOrEqual(2)
  })
})

describe("eval-summary", () => {
  const evalTable = Table.make(PolicyEvalRow, [
    { prompt: "go", source: "t", policy_response: "aaaa", baseline_response: "bb", policy_score: 0.6, baseline_score: 0, winner: "policy" },
    { prompt: "more", source: "t", policy_response: "ab", baseline_response: "b", policy_score: 0.3, baseline_score: 0, winner: "policy" },
    { prompt: "write", source: "t", policy_response: "c", baseline_response: "dddd", policy_score: 0, baseline_score: 0, winner: "tie" },
    { prompt: "list", source: "t", policy_response: "", baseline_response: "abcdefgh", policy_score: 0, baseline_score: 0.2, winner: "baseline" }
  ])
  const sft = sftTable(toySft(12, 5))

  it("rates, moreWins, mean scores and lengths from the table", async () => {
    const [row] = Table.toRows((await run(EvalSummary, { eval: evalTable, tokenizer, policy: toy, baseline: random, sft }, {})).summary)
    expect(row).toMatchObject({ prompts: 4, win: 0.5, tie: 0.25, loss: 0.25, moreWins: 25, sftExamples: 12 })
    expect(row!.policyScore).toBeCloseTo(0.9 / 4, 12)
    expect(row!.baselineScore).toBeCloseTo(0.2 / 4, 12)
    expect(row!.policyLength).toBe((4 + 2 + 1 + 0) / 4) // byte-level: one token per character
    expect(row!.baselineLength).toBe((2 + 1 + 4 + 8) / 4)
  })

  it("perplexity on SFT data: lower for the model trained on such data, equal for equal models, exact", async () => {
    const [row] = Table.toRows((await run(EvalSummary, { eval: evalTable, tokenizer, policy: toy, baseline: random, sft }, { maxExamples: 8, forwardBatchSize: 3 })).summary)
    expect(row!.sftExamples).toBe(8)
    expect(row!.baselinePerplexity).toBeGreaterThan(100) // a random model over 261 tokens
    expect(row!.baselinePerplexity).toBeLessThan(600)
    expect(row!.policyPerplexity).toBeLessThan(row!.baselinePerplexity / 5)
    // The same number from one batch of all 8 examples.
    const tok = Tokenizer.byteLevel()
    const examples = Models.encodeSft(tok, Table.toRows(sft).slice(0, 8), 24)
    const model = Weights.loadWeights(toy.arrow)
    const batch = Train.sftBatch(examples, 24)
    const loss = tf.tidy(() => Train.lmBatchLoss(model, batch).dataSync()[0]!)
    tf.dispose([batch.ids, batch.targets, batch.lossMask, batch.attentionMask]), Models.disposeModels(model)
    expect(Math.log(row!.policyPerplexity)).toBeCloseTo(loss, 4)
    const [same] = Table.toRows((await run(EvalSummary, { eval: evalTable, tokenizer, policy: random, baseline: random, sft }, {})).summary)
    expect(same!.policyPerplexity).toBe(same!.baselinePerplexity)
  })

  it("refuses an empty table and unknown winners", async () => {
    const empty = await runError(EvalSummary, { eval: Table.make(PolicyEvalRow, []), tokenizer, policy: toy, baseline: random, sft }, {})
    expect((empty as PolicyError).message).toMatch(/eval table is empty/)
    const bad = Table.make(PolicyEvalRow, [{ ...Table.toRows(evalTable)[0]!, winner: "draw" }])
    const error = await runError(EvalSummary, { eval: bad, tokenizer, policy: toy, baseline: random, sft }, {})
    expect((error as PolicyError).message).toMatch(/winner "draw"/)
  })
})
