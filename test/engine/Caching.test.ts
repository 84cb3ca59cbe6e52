import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { events, rlhf, scratch, statuses } from "./Cli.ts"

const runs = (dir: string) => events(dir).filter((e) => e[0] === "run").map((e) => e[1])

describe("caching and reruns", () => {
  it("runs everything once, then reuses every node on an unchanged rerun", () => {
    const dir = scratch()
    const first = rlhf(dir, ["run", "pipeline.ts", "--json"])
    expect(first.code, first.stderr).toBe(0)
    expect(statuses(first)).toEqual({ source: "ran", upper: "ran", count: "ran", "raw-count": "ran" })
    const second = rlhf(dir, ["run", "pipeline.ts", "--json"])
    expect(statuses(second)).toEqual({ source: "cached", upper: "cached", count: "cached", "raw-count": "cached" })
    expect(runs(dir).sort()).toEqual(["count", "raw-count", "source", "upper"])
  })

  it("a changed param reruns that node and what depends on it, and plan names the param", () => {
    const dir = scratch()
    rlhf(dir, ["run", "pipeline.ts"])
    const plan = rlhf(dir, ["plan", "pipeline.ts", "--set", "upper.enabled=false"])
    expect(plan.stdout).toMatch(/stale\s+upper\s+param enabled: true → false/)
    expect(plan.stdout).toMatch(/cached\s+source/)
    expect(plan.stdout).toMatch(/cached\s+raw-count/)
    expect(plan.stdout).toMatch(/maybe\s+count\s+input words: upstream 'upper' will rerun/)
    const r = rlhf(dir, ["run", "pipeline.ts", "--set", "upper.enabled=false", "--json"])
    expect(statuses(r)).toEqual({ source: "cached", upper: "ran", count: "ran", "raw-count": "cached" })
  })

  it("a downstream node whose input came out unchanged stays cached (early cutoff)", () => {
    const dir = scratch()
    rlhf(dir, ["run", "pipeline.ts"])
    // A new sleep param changes upper's key, not its output.
    const r = rlhf(dir, ["run", "pipeline.ts", "--set", "upper.sleepMs=1", "--json"])
    expect(statuses(r)).toEqual({ source: "cached", upper: "ran", count: "cached", "raw-count": "cached" })
  })

  it("a changed stage source file reruns that stage's nodes only", () => {
    const dir = scratch()
    rlhf(dir, ["run", "pipeline.ts"])
    fs.appendFileSync(path.join(dir, "stages/Count.ts"), "\n// an edit\n")
    const plan = rlhf(dir, ["plan", "pipeline.ts"])
    expect(plan.stdout).toMatch(/stale\s+count\s+code .*stages\/Count\.ts changed/)
    const r = rlhf(dir, ["run", "pipeline.ts", "--json"])
    expect(statuses(r)).toEqual({ source: "cached", upper: "cached", count: "ran", "raw-count": "ran" })
  })

  it("an edited data file reruns its source, and plan names the file", () => {
    const dir = scratch()
    rlhf(dir, ["run", "pipeline.ts"])
    fs.appendFileSync(path.join(dir, "words.txt"), "zebra\n")
    expect(rlhf(dir, ["plan", "pipeline.ts"]).stdout).toMatch(/stale\s+source\s+file words\.txt changed/)
    const r = rlhf(dir, ["run", "pipeline.ts", "--json"])
    expect(statuses(r)).toEqual({ source: "ran", upper: "ran", count: "ran", "raw-count": "ran" })
  })

  it("a corrupted store object is detected and recomputed, never returned", () => {
    const dir = scratch()
    rlhf(dir, ["run", "pipeline.ts"])
    const objects = path.join(dir, ".rlhf/objects")
    const files = fs.readdirSync(objects).flatMap((d) => fs.readdirSync(path.join(objects, d)).map((f) => path.join(objects, d, f)))
    for (const f of files) fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 20)) // truncate every object
    const r = rlhf(dir, ["run", "pipeline.ts", "--json"])
    expect(r.stderr).toMatch(/corrupt/)
    expect(statuses(r)).toEqual({ source: "ran", upper: "ran", count: "ran", "raw-count": "ran" })
    const show = rlhf(dir, ["show", "pipeline.ts", "count", "--format", "jsonl"])
    expect(show.stdout.split("\n")[0]).toBe(JSON.stringify({ word: "THE", count: 4 }))
  })

  it("--force reruns a cached node; --only runs a node and what it needs", () => {
    const dir = scratch()
    rlhf(dir, ["run", "pipeline.ts"])
    expect(statuses(rlhf(dir, ["run", "pipeline.ts", "--force", "upper", "--json"]))).toEqual({ source: "cached", upper: "ran", count: "cached", "raw-count": "cached" })
    const fresh = scratch()
    expect(statuses(rlhf(fresh, ["run", "pipeline.ts", "--only", "upper", "--json"]))).toEqual({ source: "ran", upper: "ran", count: "skipped", "raw-count": "skipped" })
    expect(statuses(rlhf(fresh, ["run", "pipeline.ts", "--from", "upper", "--json"]))).toEqual({ source: "cached", upper: "ran", count: "ran", "raw-count": "ran" })
  })

  it("bad input is a clear error naming the node and param", () => {
    const dir = scratch()
    const bad = rlhf(dir, ["run", "pipeline.ts", "--set", "count.minCount=lots"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/node 'count', param 'minCount'/)
    const unknown = rlhf(dir, ["run", "pipeline.ts", "--set", "nope.x=1"])
    expect(unknown.stderr).toMatch(/no node 'nope'/)
    fs.rmSync(path.join(dir, "words.txt"))
    const missing = rlhf(dir, ["run", "pipeline.ts", "--json"])
    expect(missing.code).toBe(1)
    expect(missing.stdout).toMatch(/failed\s+source.*data file not found: .*words\.txt/)
    expect(statuses(missing)).toMatchObject({ source: "failed", upper: "skipped" })
  })
})
