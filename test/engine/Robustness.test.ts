import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { done, events, keys, rlhf, rlhfAsync, scratch, statuses, waitFor } from "./Cli.ts"

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("faults, kills and concurrency", () => {
  it("a crash or a hang fails only that stage; independent work goes on", () => {
    const dir = scratch()
    const r = rlhf(dir, ["run", "faults.ts", "--json"])
    expect(r.code).toBe(1)
    expect(statuses(r)).toEqual({ source: "ran", crash: "failed", "after-crash": "skipped", hang: "failed", slow: "ran", count: "ran" })
    expect(r.stdout).toMatch(/failed\s+crash.*worker process exited \(code 3\)/)
    expect(r.stdout).toMatch(/failed\s+hang.*timed out after 1500 ms/)
    // Nothing was stored for the failed nodes: the next run retries them.
    expect(statuses(rlhf(dir, ["run", "faults.ts", "--json"]))).toMatchObject({ crash: "failed", slow: "cached", count: "cached" })
  })

  it("a worker process that failed a stage is not reused; one that succeeded is", () => {
    const dir = scratch()
    const r = rlhf(dir, ["run", "retire.ts", "--cpus", "1", "--json"])
    expect(r.code).toBe(1)
    expect(statuses(r)).toEqual({ source: "ran", fail: "failed", "ok-1": "ran", "ok-2": "ran" })
    expect(r.stdout).toMatch(/failed\s+fail.*fixture failure/)
    // One slot: the three worker stages ran one after another, each appending its pid on start.
    const order = events(dir).filter((e) => e[0] === "start" && ["fail", "ok-1", "ok-2"].includes(e[1]!)).map((e) => e[1])
    const pids = fs.readFileSync(path.join(dir, "pids.log"), "utf8").trim().split("\n")
    expect(order).toHaveLength(3)
    expect(pids).toHaveLength(3)
    expect(order.indexOf("fail")).toBeLessThan(2)
    for (let i = 1; i < 3; i++) {
      if (order[i - 1] === "fail") expect(pids[i], `${order[i]} after fail`).not.toBe(pids[i - 1])
      else expect(pids[i], `${order[i]} after ${order[i - 1]}`).toBe(pids[i - 1])
    }
  })

  it("kill -9 of the runner mid-stage leaves a store the next run completes from; its workers exit", async () => {
    const dir = scratch()
    const env = { RLHF_LOCK_STALE_MS: "1500" }
    const child = rlhfAsync(dir, ["run", "faults.ts", "--set", "slowMs=20000", "--only", "slow"], env)
    const running = done(child)
    await waitFor(() => events(dir).some((e) => e[0] === "start" && e[1] === "slow"))
    const workerPid = Number(fs.readFileSync(path.join(dir, "pids.log"), "utf8").trim().split("\n").at(-1))
    child.kill("SIGKILL")
    await running
    await waitFor(() => !alive(workerPid), 10_000)
    // The same key again: its lock, left by the killed runner, expires and is broken.
    expect(fs.readdirSync(path.join(dir, ".rlhf/locks"))).toHaveLength(1)
    const r = rlhf(dir, ["run", "faults.ts", "--set", "slowMs=20000", "--only", "slow", "--json"], { ...env, RLHF_TEST_SLEEP_SCALE: "0.01" })
    expect(r.code, r.stderr).toBe(0)
    expect(statuses(r)).toMatchObject({ source: "cached", slow: "ran" })
    expect(fs.readdirSync(path.join(dir, ".rlhf/locks"))).toEqual([])
  })

  it("two runners on one store, overlapping in time, compute each key once and agree", async () => {
    const dir = scratch()
    const args = ["run", "pipeline.ts", "--set", "upper.sleepMs=1500", "--json"]
    const a = done(rlhfAsync(dir, args))
    const b = done(rlhfAsync(dir, args))
    const [ra, rb] = await Promise.all([a, b])
    expect(ra.code, ra.stderr).toBe(0)
    expect(rb.code, rb.stderr).toBe(0)
    expect(keys(ra)).toEqual(keys(rb))
    const runs = events(dir).filter((e) => e[0] === "run").map((e) => e[1]).sort()
    expect(runs).toEqual(["count", "raw-count", "source", "upper"])
    // Each node was computed by exactly one of them.
    const ran = [...Object.values(statuses(ra)), ...Object.values(statuses(rb))].filter((s) => s === "ran")
    expect(ran).toHaveLength(4)
    // They overlapped: the upper stage took 1.5 s, and the second runner waited on its lock.
    expect(ra.stdout + rb.stdout).toMatch(/cached\s+upper/)
  })

  it("GPU stages never oversubscribe: with two devices and four GPU stages, two run at once, one per device", () => {
    const dir = scratch()
    const r = rlhf(dir, ["run", "gpu.ts", "--gpus", "0,1", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const spans = new Map<string, { start: number; end: number; device: string }>()
    for (const [ev, node, , t, device] of events(dir)) {
      if (!node!.startsWith("gpu-")) continue
      const s = spans.get(node!) ?? { start: 0, end: 0, device: device! }
      if (ev === "start") s.start = Number(t)
      if (ev === "end") s.end = Number(t)
      spans.set(node!, s)
    }
    expect(spans.size).toBe(4)
    const points = [...spans.values()].flatMap((s) => [[s.start, 1], [s.end, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1])
    let live = 0
    let peak = 0
    for (const [, d] of points) peak = Math.max(peak, (live += d))
    expect(peak).toBe(2)
    // One stage per device at a time: the spans on each device never overlap.
    expect(new Set([...spans.values()].map((s) => s.device))).toEqual(new Set(["0", "1"]))
    for (const device of ["0", "1"]) {
      const mine = [...spans.values()].filter((s) => s.device === device).sort((x, y) => x.start - y.start)
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.start).toBeGreaterThanOrEqual(mine[i - 1]!.end)
    }
    // Workers saw only their device.
    expect(r.stdout).not.toMatch(/failed/)
    const shown = rlhf(dir, ["show", "gpu.ts", "gpu-0", "--format", "jsonl"])
    expect(shown.stdout).toMatch(/"device":"([01]):\1"/)
  })

  it("with no GPU, GPU stages run on the CPU with a warning, or fail under --require-gpu", () => {
    const dir = scratch()
    const strict = rlhf(dir, ["run", "gpu.ts", "--gpus", "none", "--require-gpu", "--json"])
    expect(statuses(strict)).toMatchObject({ source: "ran", "gpu-0": "failed" })
    expect(strict.stdout).toMatch(/needs a GPU and none was found/)
    const lax = rlhf(dir, ["run", "gpu.ts", "--gpus", "none", "--json"])
    expect(lax.code).toBe(0)
    expect(lax.stderr).toMatch(/no GPU found: running GPU stage 'gpu-0' on the CPU/)
  })

  it("Ctrl-C cancels cleanly: workers stop and nothing partial enters the store", async () => {
    const dir = scratch()
    const child = rlhfAsync(dir, ["run", "faults.ts", "--set", "slowMs=20000", "--only", "slow"])
    const running = done(child)
    await waitFor(() => events(dir).some((e) => e[0] === "start" && e[1] === "slow"))
    const workerPid = Number(fs.readFileSync(path.join(dir, "pids.log"), "utf8").trim().split("\n").at(-1))
    child.kill("SIGINT")
    const r = await running
    expect(r.code).toBe(130)
    await waitFor(() => !alive(workerPid), 10_000)
    const entries = fs.readdirSync(path.join(dir, ".rlhf/entries"))
    expect(entries).toHaveLength(1) // the source only
    expect(fs.readdirSync(path.join(dir, ".rlhf/locks"))).toEqual([])
  })
})
