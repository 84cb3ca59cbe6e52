/**
 * dpo: from the SFT model on preference pairs; the first step's loss is ln 2 (policy = reference),
 * training separates chosen from rejected, the result is deterministic, and identical pairs are
 * skipped.
 */
import { Table } from "@rlhf/core"
import * as Weights from "@rlhf/nn/Weights"
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import { Dpo } from "../../src/policy/DpoTrain.ts"
import { PolicyError } from "../../src/policy/PolicyError.ts"
import type { MetricRow } from "../../src/schemas/MetricRow.ts"
import { PreferenceRow } from "../../src/schemas/PreferenceRow.ts"
import { bytes, run, runError, tokenizerTable, toyPrompts, toySftWeights } from "./Fixtures.ts"

const tokenizer = tokenizerTable()
const sft = toySftWeights(20)

const pairTable = (rows: ReadonlyArray<readonly [string, string, string]>) =>
  Table.make(PreferenceRow, rows.map(([content, chosen, rejected]) => ({ prompt: [{ role: "user", content }], chosen, rejected, source: "test", annotator: null, category: null })))

// Prefer answers rich in "a" over answers without.
const pairs = pairTable(toyPrompts.map((p, i) => [p, ["aaba", "abaa", "aaca", "daaa"][i % 4]!, ["bcdb", "cbdd", "dcbc", "bbcd"][i % 4]!] as const))
const params = { steps: 12, batchSize: 4, lr: 3e-3, beta: 0.5 }

const series = (metrics: Table.Table<typeof MetricRow>, name: string, group: string) =>
  Table.toRows(metrics).filter((r) => r.name === name && r.group === group).map((r) => r.value)

describe("dpo", () => {
  it("starts at ln 2 and learns to rank chosen over rejected", async () => {
    const before = tf.memory().numTensors
    const out = await run(Dpo, { pairs, tokenizer, sft }, params)
    expect(tf.memory().numTensors).toBe(before) // every tensor freed
    const loss = series(out.metrics, "loss", "train")
    expect(loss).toHaveLength(12)
    expect(loss[0]).toBeCloseTo(Math.LN2, 4) // policy = reference at step 0: every margin is 0
    expect(loss.at(-1)!).toBeLessThan(0.4)
    expect(series(out.metrics, "accuracy", "final")).toEqual([1])
    expect(series(out.metrics, "margin", "final")[0]!).toBeGreaterThan(0.5)
    expect(Weights.tableConfig(out.weights.arrow).head).toBe("lm")
    // Implicit rewards: chosen log-probs rose relative to the reference, rejected ones fell behind.
    const chosen = series(out.metrics, "chosen_reward", "train"), rejected = series(out.metrics, "rejected_reward", "train")
    expect(chosen.at(-1)! - rejected.at(-1)!).toBeGreaterThan(0.5)
    const again = await run(Dpo, { pairs, tokenizer, sft }, params)
    expect(bytes(again.weights)).toEqual(bytes(out.weights))
    const other = await run(Dpo, { pairs, tokenizer, sft }, { ...params, seed: 1 })
    expect(bytes(other.weights)).not.toEqual(bytes(out.weights)) // another minibatch order
  })

  it("derives steps from epochs, skips identical pairs and refuses a table of only identical pairs", async () => {
    const withSame = pairTable([...Table.toRows(pairs).map((r) => [r.prompt[0]!.content, r.chosen, r.rejected] as const), ["go", "same", "same"]])
    const out = await run(Dpo, { pairs: withSame, tokenizer, sft }, { epochs: 2, batchSize: 4, lr: 1e-3 })
    expect(series(out.metrics, "loss", "train")).toHaveLength(4) // ceil(2 × 8 usable pairs / 4)
    const error = await runError(Dpo, { pairs: pairTable([["go", "x", "x"]]), tokenizer, sft }, {})
    expect(error).toBeInstanceOf(PolicyError)
    expect((error as PolicyError).message).toMatch(/no usable preference pairs/)
  })

  // Regression (real data): each pair fitted the context, but a batch pads to its longest prompt
  // plus its longest response, which did not ("prompt 97 + response 52 tokens exceed 128").
  it("trains on batches that mix a long prompt with a long response", async () => {
    const mixed = pairTable([
      ["a long prompt that fills most of the context window", "ab", "cd"],
      ["go", "a long chosen answer that runs on and on", "a long rejected answer that runs on too"],
      ...toyPrompts.slice(0, 2).map((p) => [p, "aaba", "bcdb"] as const)
    ])
    const out = await run(Dpo, { pairs: mixed, tokenizer, sft }, { steps: 2, batchSize: 4, lr: 1e-3 })
    expect(series(out.metrics, "loss", "train")).toHaveLength(2)
  })
})
