import * as fs from "node:fs"
import * as path from "node:path"
import { Pipeline } from "@rlhf/core"
import { fingerprinter } from "@rlhf/runner/CodeFingerprint"
import { plan } from "@rlhf/runner/Plan"
import { Store } from "@rlhf/runner/Store"
import { describe, expect, it } from "vitest"
import { layeredDag } from "../../bench/fixtures/Synthetic.ts"
import { scratch } from "./Cli.ts"

const cpuMs = (fn: () => void): number => {
  const c0 = process.cpuUsage()
  fn()
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1000
}

describe("code fingerprints in a plan", () => {
  it("a plan of 5,000 nodes walks each stage's files once (well under half a second of CPU)", () => {
    const resolved = Pipeline.resolveSync(layeredDag(5_000, 100))
    const store = new Store(path.join(scratch(), ".rlhf"))
    const cwd = path.resolve(import.meta.dirname, "../..")
    plan(resolved, store, { cwd, seed: 0 }) // warms the JIT and the per-process file hash memo
    let nodes: ReturnType<typeof plan> = []
    // Walking the files per node took ~0.5 ms of CPU a node (2.5 s here); with one walk per stage the plan takes ~0.1 s.
    const ms = cpuMs(() => (nodes = plan(resolved, store, { cwd, seed: 0 })))
    expect(nodes.filter((n) => n.status === "stale")).toHaveLength(5_000)
    expect(ms).toBeLessThan(500)
  })

  it("a fingerprinter keeps one result per module for its plan; a new one sees an edited file", () => {
    const dir = scratch()
    const module = path.join(dir, "stages/Count.ts")
    const first = fingerprinter()
    const before = first(module)
    expect(first(module)).toBe(before) // shared by every node of the stage
    expect(Object.keys(before).some((f) => f.endsWith("stages/Count.ts"))).toBe(true)
    fs.appendFileSync(module, "\n// an edit\n")
    expect(first(module)).toBe(before)
    const after = fingerprinter()(module)
    const changed = Object.keys(after).filter((f) => after[f] !== before[f])
    expect(changed).toHaveLength(1)
    expect(changed[0]).toMatch(/stages\/Count\.ts$/)
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort())
  })
})
