/**
 * Only the outputs wired into a node are part of its key: a training-like stage whose metrics
 * carry wall-clock figures (different on every run) does not make the consumers of its weights
 * rerun when the weights come out the same.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Columns, Pipeline, Stage, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { silentReporter } from "../src/Reporter.ts"
import * as Runner from "../src/Runner.ts"
import { Store } from "../src/Store.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rlhf-cutoff-test-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const Weights = Schema.Struct({ w: Columns.Float32 })
const Metric = Schema.Struct({ name: Columns.Utf8, value: Columns.Float64 })

const Train = Stage.make({
  name: "cutoff-train",
  version: "1",
  inputs: {},
  outputs: { weights: Weights, metrics: Metric },
  params: Schema.Struct({}),
  run: () =>
    Effect.sync(() => ({
      weights: Table.make(Weights, [{ w: 0.5 }, { w: -1 }]),
      // A throughput figure: differs from run to run.
      metrics: Table.make(Metric, [{ name: "tokensPerSec", value: performance.now() + Math.random() }])
    }))
})

const Use = Stage.make({
  name: "cutoff-use",
  version: "1",
  inputs: { weights: Weights },
  outputs: { sum: Schema.Struct({ sum: Columns.Float64 }) },
  params: Schema.Struct({}),
  run: ({ inputs }) =>
    Effect.sync(() => ({ sum: Table.make(Schema.Struct({ sum: Columns.Float64 }), [{ sum: Table.columnValues(inputs.weights, "w").reduce((a, b) => a + b, 0) }]) }))
})

const pipeline = Pipeline.make("cutoff", (p) => {
  const train = p.add("train", Train, { params: {} })
  p.add("use", Use, { inputs: { weights: train.out.weights } })
})

const runOnce = (store: Store, force: ReadonlyArray<string>) =>
  Effect.runPromise(Runner.run({
    pipeline, pipelineFile: "unused-no-isolated-stages.ts", sets: [], store, cwd: root, seed: 0, cpuSlots: 1, gpus: [],
    requireGpu: false, force, reporter: silentReporter, runId: `r-${Math.random().toString(36).slice(2)}`
  }))

describe("early cutoff past a changing metrics output", () => {
  it("a forced rerun of the trainer gives new metrics and the same weights; the weights' consumer stays cached", async () => {
    const store = new Store(path.join(root, "store"))
    const outputsOfTrain = () => store.entries().find((e) => e.node === "train")!.outputs
    const first = await runOnce(store, [])
    expect(first.stages.map((s) => s.status)).toStrictEqual(["ran", "ran"])
    const before = outputsOfTrain()
    const second = await runOnce(store, ["train"])
    expect(Object.fromEntries(second.stages.map((s) => [s.id, s.status]))).toStrictEqual({ train: "ran", use: "cached" })
    const after = outputsOfTrain()
    expect(after["metrics"]!.hash).not.toBe(before["metrics"]!.hash)
    expect(after["weights"]!.hash).toBe(before["weights"]!.hash)
  })
})
