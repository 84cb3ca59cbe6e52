/**
 * Killing the reference pipeline during PPO iteration k and rerunning resumes at k and ends with
 * the same weights as an uninterrupted run (tiny config, 3 iterations).
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const repoRoot = path.resolve(import.meta.dirname, "../..")
const bin = path.join(repoRoot, "packages/runner/bin/rlhf.mjs")
const MINUTE = 60_000

/** A tiny configuration: every model stage takes seconds. */
const tiny = [
  "ppo.iterations=3", "tokenizer.vocabSize=300", "corpus.nChars=20000", "sft-data.n=200", "preferences.n=200", "rl-prompts.n=32",
  "pretrain.dModel=32", "pretrain.nLayers=1", "pretrain.nHeads=2", "pretrain.contextLength=64", "pretrain.steps=20", "pretrain.evalEvery=0",
  "sft.steps=10", "sft.evalEvery=0", "rm-train.steps=10", "prompt-filter.k=2", "ppo.stepsPerCheckpoint=4", "ppo.batchSize=8", "ppo.maxNewTokens=8",
  "eval-prompts.n=8", "eval.maxNewTokens=8", "dpo-pairs.maxNewTokens=8", "dpo.steps=2", "reference-baseline.maxNewTokens=8", "prompt-filter.maxNewTokens=8"
].flatMap((s) => ["--set", s])

const args = (store: string) => ["run", "pipelines/chatglm-rlhf.ts", ...tiny, "--store", store, "--json"]

const finalPolicy = (store: string) => {
  const record = JSON.parse(fs.readFileSync(path.join(store, "nodes/chatglm-rlhf/ppo__3__iteration.json"), "utf8")) as { key: string }
  const entry = JSON.parse(fs.readFileSync(path.join(store, "entries", `${record.key}.json`), "utf8")) as { outputs: Record<string, { hash: string }> }
  return { key: record.key, policy: entry.outputs["policy"]!.hash, optimizer: entry.outputs["policyOptimizer"]!.hash }
}

describe("PPO resumes after a kill", () => {
  it("killed during iteration 2, a rerun resumes at 2 and ends with the uninterrupted run's weights", async () => {
    const tmp = path.join(repoRoot, "test/.tmp", `resume-${process.pid}-${Date.now()}`)
    const straight = spawnSync(process.execPath, [bin, ...args(path.join(tmp, "a"))], { cwd: repoRoot, encoding: "utf8", timeout: 30 * MINUTE })
    expect(straight.status, straight.stderr.slice(-3000)).toBe(0)

    const b = path.join(tmp, "b")
    const child = spawn(process.execPath, [bin, ...args(b)], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RLHF_LOCK_STALE_MS: "2000" } })
    let err = ""
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString()
        if (/start ppo\/2\/iteration/.test(err)) {
          // Let iteration 2 get going, then kill the runner (and so its workers) without warning.
          setTimeout(() => {
            child.kill("SIGKILL")
            resolve()
          }, 200)
        }
      })
      child.on("exit", () => reject(new Error(`the run ended before iteration 2 started:\n${err.slice(-3000)}`)))
    })
    const resumed = spawnSync(process.execPath, [bin, ...args(b)], { cwd: repoRoot, encoding: "utf8", timeout: 30 * MINUTE, env: { ...process.env, RLHF_LOCK_STALE_MS: "2000" } })
    expect(resumed.status, resumed.stderr.slice(-3000)).toBe(0)
    const statuses = Object.fromEntries((JSON.parse(resumed.stdout.trim().split("\n").at(-1)!) as { stages: Array<{ id: string; status: string }> }).stages.map((s) => [s.id, s.status]))
    expect(statuses["ppo/1/iteration"]).toBe("cached")
    expect(statuses["ppo/2/iteration"]).toBe("ran")
    expect(statuses["ppo/3/iteration"]).toBe("ran")
    expect(finalPolicy(b)).toEqual(finalPolicy(path.join(tmp, "a")))
  }, 60 * MINUTE)
})
