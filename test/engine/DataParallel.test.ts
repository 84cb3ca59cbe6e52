/**
 * A model stage with `workers: 2` under the launcher: its worker process (a bundle) starts the
 * data-parallel worker thread from the TypeScript sources, trains on two threads and records so.
 */
import { tableFromIPC } from "apache-arrow"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { rlhf, statuses } from "./Cli.ts"
import { storeEntries, tinyLmProject } from "./TinyLm.ts"

describe("data-parallel training in a bundled worker process", () => {
  it("pretrain with workers: 2 runs on two threads and trains what workers: 1 does", () => {
    const tiny = { dModel: 16, nLayers: 1, nHeads: 2, contextLength: 8, steps: 4, batchSize: 6 }
    const dir = tinyLmProject([{ node: "pre1", params: { ...tiny, workers: 1 } }, { node: "pre2", params: { ...tiny, workers: 2 } }])
    const r = rlhf(dir, ["run", "tiny.ts", "--gpus", "none", "--json"])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(statuses(r)).toEqual({ corpus: "ran", tok: "ran", pre1: "ran", pre2: "ran" })
    const entries = storeEntries(dir)
    const entry = (node: string) => entries.find((e) => e.node === node)!
    expect(entry("pre2").lineage["dataParallel"]).toBe("2 threads")
    expect(entry("pre1").lineage["dataParallel"]).toBeUndefined()
    // Both start from the same seeded init: the weights agree to float32 rounding.
    const values = (node: string): Float32Array[] => {
      const { hash } = entry(node).outputs["weights"]!
      const table = tableFromIPC(fs.readFileSync(path.join(dir, ".rlhf/objects", hash.slice(0, 2), `${hash}.arrow`)))
      const column = table.getChild("values")!
      return Array.from({ length: table.numRows }, (_, i) => Float32Array.from(column.get(i) as Iterable<number>))
    }
    const [one, two] = [values("pre1"), values("pre2")]
    const diff = Math.max(...one.map((x, i) => x.reduce((m, v, j) => Math.max(m, Math.abs(v - two[i]![j]!)), 0)))
    expect(diff).toBeLessThan(1e-4)
  })
})
