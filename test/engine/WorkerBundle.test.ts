import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { done, events, rlhf, rlhfAsync, scratch, statuses, waitFor } from "./Cli.ts"
import { storeEntries, tinyLmProject } from "./TinyLm.ts"

/** The command line of a live process. */
const commandLine = (pid: number): string => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")

/** Starts the slow worker stage, returns its worker's command line while it runs, then lets the run finish. */
const workerCommandLine = async (env: Record<string, string>) => {
  const dir = scratch()
  const running = done(rlhfAsync(dir, ["run", "faults.ts", "--set", "slowMs=1500", "--only", "slow", "--json"], env))
  await waitFor(() => events(dir).some((e) => e[0] === "start" && e[1] === "slow"))
  const pid = Number(fs.readFileSync(path.join(dir, "pids.log"), "utf8").trim().split("\n").at(-1))
  const line = commandLine(pid)
  const r = await running
  expect(r.code, r.stderr).toBe(0)
  expect(statuses(r)).toMatchObject({ source: "ran", slow: "ran" })
  return line
}

describe("worker processes", () => {
  it("start from the launcher's worker bundle, not from the sources through tsx", async () => {
    const line = await workerCommandLine({})
    expect(line).toMatch(/rlhf-bundles\/[0-9a-f]+\/b-[^/ ]+\/worker\.c?js/)
    expect(line).not.toMatch(/tsx/)
  })

  it("start from the sources through tsx under RLHF_NO_BUNDLE=1", async () => {
    const line = await workerCommandLine({ RLHF_NO_BUNDLE: "1" })
    expect(line).toMatch(/--import \S*tsx\S* \S*packages\/runner\/src\/WorkerMain\.ts/)
  })

  it("a model stage in a bundled worker finds the same tensor backend as the sources do (native when the addon is built)", async () => {
    const dir = tinyLmProject([{ node: "pre", params: { dModel: 8, nLayers: 1, nHeads: 1, contextLength: 8, steps: 2, batchSize: 2 } }])
    const r = rlhf(dir, ["run", "tiny.ts", "--gpus", "none", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(statuses(r)).toEqual({ corpus: "ran", tok: "ran", pre: "ran" })
    const backend = storeEntries(dir).find((e) => e.node === "pre")!.lineage["backend"] as string
    // What the sources (the same packages resolved by Node, not by the bundler) pick in this process.
    const { resolveBackend } = await import("@rlhf/nn/TensorBackend")
    const expected = await resolveBackend({ warn: () => {} })
    expect(backend).toBe(`${expected.name} ${expected.version}`)
    const { nativeAvailable } = await import("../../packages/kernels/src/index.ts")
    if (nativeAvailable()) expect(backend).toMatch(/^native /)
    // A new worker starts from the code cache the first ones left; the cpu backend is a dynamic
    // import of an external package (it failed from a cached script while bundles kept import()).
    const again = rlhf(dir, ["run", "tiny.ts", "--gpus", "none", "--force", "pre", "--json"], { RLHF_TF_BACKEND: "cpu" })
    expect(again.code, again.stdout + again.stderr).toBe(0)
    expect(statuses(again)).toEqual({ corpus: "cached", tok: "cached", pre: "ran" })
    const pre = storeEntries(dir).filter((e) => e.node === "pre").map((e) => e.lineage["backend"] as string)
    expect(pre.some((b) => /^cpu \d/.test(b))).toBe(true)
  })
})
