/**
 * pipelines/reward-model.ts end to end through the `rlhf` CLI, on the shared data with a tiny
 * model (sizes set with --set), in a scratch store.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Store } from "@rlhf/runner"
import * as Arrow from "apache-arrow"
import { afterAll, describe, expect, it } from "vitest"
import { keys, repoRoot, statuses } from "../engine/Cli.ts"

const bin = path.join(repoRoot, "packages/runner/bin/rlhf.mjs")
const sharedData = path.resolve(repoRoot, "../shared/data")
const store = fs.mkdtempSync(path.join(os.tmpdir(), "rlhf-reward-model-"))

const tiny = [
  "tokenizer.vocabSize=300", "tokenizer.maxChars=60000",
  "pretrain.dModel=32", "pretrain.nLayers=1", "pretrain.nHeads=2", "pretrain.contextLength=64",
  "pretrain.steps=6", "pretrain.batchSize=4", "pretrain.warmupSteps=2", "pretrain.evalEvery=0", "pretrain.evalWindows=2",
  "sft.steps=4", "sft.batchSize=4", "sft.warmupSteps=1", "sft.evalEvery=0",
  "rm-train.steps=4", "rm-train.batchSize=4", "rm-train.warmupSteps=1", "rm-train.evalEvery=2", "rm-train.evalSize=16"
].flatMap((s) => ["--set", s])

/** `rlhf <command> pipelines/reward-model.ts <args>` from the repository root, as the README runs it. */
const rlhf = (command: string, args: ReadonlyArray<string>) => {
  const r = spawnSync(process.execPath, [bin, command, "pipelines/reward-model.ts", ...tiny, ...args], {
    cwd: repoRoot, env: { ...process.env, RLHF_STORE: store }, encoding: "utf8", timeout: 240_000
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/**
 * An output of a node as rows, read from the store by the key the run reported (not recomputed
 * from the current sources, which other work in the same tree may be changing meanwhile).
 */
const output = (runKeys: Record<string, string | null>, node: string, name: string): Array<Record<string, unknown>> => {
  const db = new Store(store)
  const stored = db.getEntry(runKeys[node]!)?.outputs[name]
  if (stored === undefined) throw new Error(`node ${node} has no stored output ${name}`)
  return Arrow.tableFromIPC(db.getObject(stored.hash)).toArray().map((r: { toJSON: () => Record<string, unknown> }) => r.toJSON())
}

const NODES = [
  "corpus", "sft-data", "sft-split", "corpus-mix", "tokenizer", "pretrain", "sft-examples", "sft",
  "preferences", "dedupe", "length-balance", "split", "rm-train", "rm-eval-val", "heldout", "rm-eval"
]

afterAll(() => fs.rmSync(store, { recursive: true, force: true }))

describe("pipelines/reward-model.ts", () => {
  it("needs the shared data beside the repository", () => {
    expect(fs.existsSync(path.join(sharedData, "preferences/hh-rlhf-harmless.jsonl.gz")), `missing ${sharedData}: the pipeline reads the shared data from ../shared/data beside the repository`).toBe(true)
  })

  it("runs every node, evaluates per source, and a dedupe param reruns dedupe but not the language model", () => {
    const first = rlhf("run", ["--json"])
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0)
    const ran = statuses(first)
    const runKeys = keys(first)
    expect(Object.keys(ran).sort()).toEqual([...NODES].sort())
    // "preferences" reads the same files with the same params as "sft-data": one cache entry serves both.
    for (const node of NODES.filter((n) => n !== "preferences")) expect(ran[node], node).toBe("ran")

    // Validation side of the split: one row per source plus overall, consistent numbers.
    const val = output(runKeys, "rm-eval-val", "metrics")
    expect(val.map((r) => r["source"])).toEqual(["hh-rlhf-harmless", "oasst-en-trees", "overall"])
    const [hh, oasst, overall] = val as Array<Record<string, number>>
    expect(overall!["n"]).toBe(hh!["n"]! + oasst!["n"]!)
    expect(hh!["n"]).toBeGreaterThan(50)
    expect(oasst!["n"]).toBeGreaterThan(20)
    for (const r of val as Array<Record<string, number>>) {
      expect(r["accuracyLo"]).toBeLessThanOrEqual(r["accuracy"]!)
      expect(r["accuracyHi"]).toBeGreaterThanOrEqual(r["accuracy"]!)
      expect(r["lengthBaselineAccuracy"]).toBeGreaterThanOrEqual(0.5)
      expect(["longer", "shorter"]).toContain(r["lengthBaselineRule"])
    }
    // The split holds validation out of training: train + validation = the balanced pairs.
    const scores = output(runKeys, "rm-eval-val", "scores")
    expect(scores).toHaveLength(overall!["n"]!)

    // The heldout file (LLaMA-Factory's English DPO demo, 300 pairs).
    const heldout = output(runKeys, "rm-eval", "metrics")
    expect(heldout.map((r) => [r["source"], r["n"]])).toEqual([["dpo-en-demo", 300], ["overall", 300]])

    // Score statistics over training are in rm-train's metrics.
    const metrics = output(runKeys, "rm-train", "metrics")
    expect(metrics.filter((m) => m["name"] === "scoreStd" && m["group"] === "train")).toHaveLength(4)
    expect(metrics.filter((m) => m["name"] === "accuracy" && m["group"] === "train-sample").map((m) => m["step"])).toEqual([1, 3])

    const rerun = rlhf("run", ["--json", "--set", "dedupe.nearDuplicateThreshold=0.5"])
    expect(rerun.code, `${rerun.stdout}\n${rerun.stderr}`).toBe(0)
    const again = statuses(rerun)
    expect(again["dedupe"]).toBe("ran")
    for (const node of ["corpus", "sft-data", "sft-split", "corpus-mix", "tokenizer", "pretrain", "sft-examples", "sft", "preferences", "heldout"]) {
      expect(again[node], node).toBe("cached")
    }
    // A threshold of 0.5 drops more near-duplicates, so everything after dedupe sees new pairs.
    for (const node of ["length-balance", "split", "rm-train", "rm-eval-val", "rm-eval"]) expect(again[node], node).toBe("ran")
  }, 420_000)
})
