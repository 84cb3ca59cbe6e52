/**
 * The reference pipeline end to end, on the built-in default task: one full run into one store
 * (the store is the shared "global setup": every comparison below reruns only what it changes).
 * Bounds are set so that a broken RM, PPO, baseline or PTX misses them; seeds are fixed.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"

const repoRoot = path.resolve(import.meta.dirname, "../..")
const bin = path.join(repoRoot, "packages/runner/bin/rlhf.mjs")
const store = path.join(repoRoot, "test/.tmp/chatglm-store")
const pipeline = "pipelines/chatglm-rlhf.ts"
const MINUTE = 60_000

const rlhf = (args: ReadonlyArray<string>) => {
  const r = spawnSync(process.execPath, [bin, ...args, "--store", store], { cwd: repoRoot, encoding: "utf8", timeout: 60 * MINUTE, maxBuffer: 64 << 20 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const run = (sets: ReadonlyArray<string> = []) => {
  const r = rlhf(["run", pipeline, ...sets.flatMap((s) => ["--set", s]), "--json"])
  if (r.code !== 0) throw new Error(`rlhf run ${sets.join(" ")} failed:\n${r.stdout}\n${r.stderr.slice(-4000)}`)
  const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { stages: Array<{ id: string; status: string }> }
  return Object.fromEntries(summary.stages.map((s) => [s.id, s.status]))
}

const show = <T>(node: string, sets: ReadonlyArray<string> = []): T[] => {
  const r = rlhf(["show", pipeline, node, ...sets.flatMap((s) => ["--set", s]), "--format", "jsonl", "--limit", "100000"])
  if (r.code !== 0) throw new Error(`rlhf show ${node} failed: ${r.stderr}`)
  return r.stdout.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as T)
}

interface Summary { win: number; tie: number; loss: number; moreWins: number; policyPerplexity: number; baselinePerplexity: number }
interface Metric { name: string; value: number; step: number | null; group: string | null }

const summary = (prefix = "", sets: ReadonlyArray<string> = []) => show<Summary>(`${prefix}eval-summary`, sets)[0]!
const forgetting = (s: Summary) => s.policyPerplexity / s.baselinePerplexity

describe("pipelines/chatglm-rlhf.ts on the built-in task", () => {
  let first: Record<string, string>
  beforeAll(() => {
    fs.mkdirSync(store, { recursive: true })
    first = run()
  }, 60 * MINUTE)

  it("runs every stage of the practice, with the eval nodes named as documented", () => {
    for (const id of ["corpus", "sft-data", "preferences", "rl-prompts", "eval-prompts", "heldout", "tokenizer", "pretrain", "sft", "dedupe", "length-balance", "split", "rm-train", "rm-eval-val", "rm-eval", "reference-baseline", "prompt-filter", "ppo-init", "ppo/1/iteration", "eval", "eval-summary", "dpo", "dpo-eval", "dpo-eval-summary"]) {
      expect(["ran", "cached"]).toContain(first[id])
    }
    // A second run is all cached.
    expect(new Set(Object.values(run()))).toEqual(new Set(["cached"]))
  }, 5 * MINUTE)

  it("the reward model is accurate on held-out pairs, and beats the length-only baseline", () => {
    const overall = show<{ source: string; accuracy: number; accuracyLo: number; lengthBaselineAccuracy: number }>("rm-eval").find((r) => r.source === "all" || r.source === "overall")!
    expect(overall.accuracy).toBeGreaterThan(0.75) // 0.81 measured; chance is 0.5
    expect(overall.accuracyLo).toBeGreaterThan(overall.lengthBaselineAccuracy)
  })

  it("PPO raises the mean reward over iterations while the KL stays bounded", () => {
    const iterations = Object.keys(first).filter((id) => /^ppo\/\d+\/iteration$/.test(id))
    expect(iterations.length).toBeGreaterThanOrEqual(4)
    const metrics = iterations.flatMap((id) => show<Metric>(`${id}.metrics`))
    const series = (name: string) => metrics.filter((m) => m.name === name).sort((a, b) => a.step! - b.step!).map((m) => m.value)
    const reward = series("raw_reward_mean")
    const kl = series("kl")
    const head = reward.slice(0, 3).reduce((a, b) => a + b, 0) / 3
    const tail = reward.slice(-3).reduce((a, b) => a + b, 0) / 3
    expect(tail).toBeGreaterThan(head + 0.1)
    expect(Math.max(...kl)).toBeLessThan(10)
  })

  // The paper's headline is about 15 more wins. Eval samples both models at temperature 1, 20 times
  // per held-out prompt (760 pairs). Measured +19.9 (seed 0); ppo.seed 1 and 2: +18.7, +25.8; run
  // seed 1: +37.4 (BENCHMARKS.md). A PPO that does not learn scores about 0, one that hacks the RM
  // scores below 0; the old defaults (λ_ptx 0.5, 6 iterations) scored +12 and +9 (ppo.seed 0, 1).
  it("the RLHF policy beats SFT under the ground-truth judge by at least 15 more wins", () => {
    const s = summary()
    expect(s.moreWins).toBeGreaterThanOrEqual(15)
    expect(s.win).toBeGreaterThan(s.loss)
    expect(s.win + s.tie + s.loss).toBeCloseTo(1, 6)
  })

  // PTX at the paper's weight (λ_ptx 0.5) against none: SFT-perplexity ratio (policy / SFT) measured
  // 1.06 with vs 1.27 without (seed 0), 1.07 vs 1.31 (seed 1). The default's light PTX (0.05) sits in between.
  it("with PTX on, SFT perplexity rises less than with it off, for two seeds", () => {
    for (const seed of [0, 1]) {
      const on = [`ppo.seed=${seed}`, "ppo.ptxCoef=0.5"]
      const off = [`ppo.seed=${seed}`, "ppo.ptxCoef=0"]
      const statuses = run(off)
      // Only PPO and what reads its policy reran.
      expect(statuses["rm-train"]).toBe("cached")
      expect(statuses["dpo"]).toBe("cached")
      expect(statuses["ppo/1/iteration"]).toBe("ran")
      run(on)
      expect(forgetting(summary("", on))).toBeLessThan(forgetting(summary("", off)) - 0.05)
      if (seed === 0) expect(forgetting(summary())).toBeLessThan(forgetting(summary("", off)))
    }
  }, 60 * MINUTE)

  it("turning the reference baseline off reruns only PPO and its evaluation", () => {
    const statuses = run(["ppo.useBaseline=false"])
    expect(statuses["reference-baseline"]).toBe("cached")
    expect(statuses["sft"]).toBe("cached")
    expect(statuses["ppo/1/iteration"]).toBe("ran")
    expect(summary("", ["ppo.useBaseline=false"]).moreWins).toBeTypeOf("number")
  }, 30 * MINUTE)
})
