/**
 * The data stages under the real `rlhf` CLI (test/fixtures/data): preference file → dedupe →
 * split → counts, and the training side through length-balance and truncate with a tokenizer
 * table. A change to dedupe's threshold reruns dedupe and nothing before it; what follows reruns
 * exactly when the tables it reads changed.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { byteLevel } from "@rlhf/nn/Tokenizer"
import { dedupe } from "@rlhf/stages/preferences/Dedupe"
import { lengthBalance } from "@rlhf/stages/preferences/LengthBalance"
import type { PreferencePair } from "@rlhf/stages/preferences/PreferencePair"
import { readPreferences } from "@rlhf/stages/preferences/Readers"
import { splitByPrompt } from "@rlhf/stages/preferences/Split"
import { beforeAll, describe, expect, it } from "vitest"
import { repoRoot, rlhf, statuses } from "./Cli.ts"

const fixture = path.join(repoRoot, "test/fixtures/data")

/** A fresh copy of test/fixtures/data under test/.tmp (so `@rlhf/*` resolves), with its own store. */
const scratch = (): string => {
  const dir = path.join(repoRoot, "test/.tmp", `data-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`)
  fs.cpSync(fixture, dir, { recursive: true })
  return dir
}

// The pipeline's data path computed in-process with the pure functions the stages wrap, at the
// pipeline's params, so each expected status follows from whether a node's inputs changed.
const pairs = readPreferences(path.join(fixture, "pairs.jsonl")).pairs
const tok = byteLevel()
const bytes = (s: string) => tok.encode(s, { allowSpecial: false }).length
const downstream = (threshold: number) => {
  const kept = dedupe(pairs, { nearDuplicateThreshold: threshold }).kept
  const { train, validation } = splitByPrompt(kept, { validationFraction: 0.3 })
  return { kept, train, validation, balanced: lengthBalance(train, { length: bytes, bucketEdges: [0, 10, 40] }).kept }
}
const same = (a: ReadonlyArray<PreferencePair>, b: ReadonlyArray<PreferencePair>) => JSON.stringify(a) === JSON.stringify(b)
const ranIf = (changed: boolean) => (changed ? "ran" : "cached")

/** Expected statuses after changing dedupe's threshold from the default 0.9 to `threshold`. */
const expectedAfter = (threshold: number) => {
  const [base, next] = [downstream(0.9), downstream(threshold)]
  return {
    preferences: "cached", tokenizer: "cached", dedupe: "ran",
    split: ranIf(!same(base.kept, next.kept)),
    "train-count": ranIf(!same(base.train, next.train)),
    "validation-count": ranIf(!same(base.validation, next.validation)),
    "length-balance": ranIf(!same(base.train, next.train)),
    truncate: ranIf(!same(base.balanced, next.balanced))
  }
}

describe("data pipeline under the CLI", () => {
  let dir = ""
  beforeAll(() => {
    dir = scratch()
    const first = rlhf(dir, ["run", "pipeline.ts", "--json"])
    expect(first.code, first.stderr).toBe(0)
    expect(Object.values(statuses(first))).toEqual(Array(8).fill("ran"))
  })

  it("reads, cleans, splits and counts the fixture pairs; metrics come back through the store", () => {
    const metrics = rlhf(dir, ["show", "pipeline.ts", "dedupe.metrics", "--format", "jsonl"])
    const rows = metrics.stdout.trim().split("\n").map((l) => JSON.parse(l) as { name: string; value: number; group: string | null })
    const value = (name: string, group: string | null = null) => rows.find((r) => r.name === name && r.group === group)?.value
    const { kept, train } = downstream(0.9)
    expect([value("pairs.input"), value("pairs.kept")]).toEqual([pairs.length, kept.length])
    // The fixture has every kind of drop: one of each, four near-duplicates, a cycle of three.
    expect(["short-prompt", "tie", "exact-duplicate", "near-duplicate", "cycle"].map((g) => value("pairs.dropped", g))).toEqual([1, 1, 1, 4, 3])
    const counts = rlhf(dir, ["show", "pipeline.ts", "train-count", "--format", "jsonl"])
    expect(JSON.parse(counts.stdout.trim())).toEqual({ pairs: train.length, prompts: new Set(train.map((p) => JSON.stringify(p.prompt))).size })
  })

  it("a threshold change that keeps the same pairs reruns dedupe only; split and all after it stay cached", () => {
    const expected = expectedAfter(0.95)
    // The premise, from the data: no near-duplicate's similarity lies in [0.9, 0.95).
    expect(expected.split).toBe("cached")
    const r = rlhf(dir, ["run", "pipeline.ts", "--set", "dedupe.nearDuplicateThreshold=0.95", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(statuses(r)).toEqual(expected)
  })

  it("a threshold change that drops more pairs reruns split and exactly the nodes whose inputs changed", () => {
    const expected = expectedAfter(0.7)
    // The premise: the looser near-duplicates all fall on the train side, so both cases show.
    expect([expected.split, expected["train-count"], expected["validation-count"]]).toEqual(["ran", "ran", "cached"])
    const plan = rlhf(dir, ["plan", "pipeline.ts", "--set", "dedupe.nearDuplicateThreshold=0.7"])
    // (the plan names the change from the threshold dedupe last ran with)
    expect(plan.stdout).toMatch(/stale\s+dedupe\s+param nearDuplicateThreshold: [\d.]+ → 0\.7/)
    expect(plan.stdout).toMatch(/cached\s+preferences/)
    expect(plan.stdout).toMatch(/maybe\s+split\s+input pairs: upstream 'dedupe' will rerun/)
    const r = rlhf(dir, ["run", "pipeline.ts", "--set", "dedupe.nearDuplicateThreshold=0.7", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(statuses(r)).toEqual(expected)
  })

  it("the length-balancing ablation is one --set away and reruns only what follows it", () => {
    const r = rlhf(dir, ["run", "pipeline.ts", "--set", "length-balance.enabled=false", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const { train, balanced } = downstream(0.9)
    expect(same(train, balanced)).toBe(false)
    expect(statuses(r)).toEqual({
      preferences: "cached", tokenizer: "cached", dedupe: "cached", split: "cached", "train-count": "cached", "validation-count": "cached",
      "length-balance": "ran", truncate: "ran"
    })
  })
})
