import { describe, expect, it } from "vitest"
import { events, rlhf, scratch, statuses } from "./Cli.ts"

interface Span {
  start: number
  end: number
  pid: string
  thread: string
}

/** Each node's run as the fixture stages recorded it: start and end times, pid and thread id. */
const spans = (dir: string): Map<string, Span> => {
  const out = new Map<string, Span>()
  for (const [ev, node, , t, , pid, thread] of events(dir)) {
    const s = out.get(node!) ?? { start: NaN, end: NaN, pid: pid!, thread: thread! }
    if (ev === "start") Object.assign(s, { start: Number(t), pid, thread })
    if (ev === "end") s.end = Number(t)
    out.set(node!, s)
  }
  return out
}

describe("thread stages (isolate: \"thread\")", () => {
  it("run on worker threads of the runner's process, two CPU-bound ones at once on two slots, one at a time on one", () => {
    const dir = scratch()
    const r = rlhf(dir, ["run", "threads.ts", "--cpus", "2", "--json"])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(statuses(r)).toEqual({ source: "ran", a: "ran", b: "ran", count: "ran" })
    const s = spans(dir)
    const [a, b, count] = [s.get("a")!, s.get("b")!, s.get("count")!]
    // The in-process stage ran on the runner's main thread; the thread stages in the same process, off it.
    expect(count.thread).toBe("0")
    for (const t of [a, b]) {
      expect(t.pid).toBe(count.pid)
      expect(t.thread).not.toBe("0")
    }
    expect(a.thread).not.toBe(b.thread)
    // Each burns its CPU for 600 ms: on one thread they could not overlap; here they mostly do.
    const overlap = Math.min(a.end, b.end) - Math.max(a.start, b.start)
    expect(overlap).toBeGreaterThan(300)

    const serial = scratch()
    const one = rlhf(serial, ["run", "threads.ts", "--cpus", "1", "--json"])
    expect(one.code, one.stdout + one.stderr).toBe(0)
    const t = spans(serial)
    const [a1, b1] = [t.get("a")!, t.get("b")!]
    expect(Math.min(a1.end, b1.end)).toBeLessThanOrEqual(Math.max(a1.start, b1.start))
    // One slot: the second stage reused the first one's thread.
    expect(a1.thread).toBe(b1.thread)
    // Same results either way, and a rerun is cached.
    expect(rlhf(serial, ["show", "threads.ts", "a", "--format", "jsonl"]).stdout).toBe(rlhf(dir, ["show", "threads.ts", "a", "--format", "jsonl"]).stdout)
    expect(statuses(rlhf(dir, ["run", "threads.ts", "--json"]))).toEqual({ source: "cached", a: "cached", b: "cached", count: "cached" })
  })

  it("an exit, a hang, an uncaught exception, heap exhaustion or a failure fails only that stage; the runner goes on", () => {
    const dir = scratch()
    // A heap limit the runner stays far below and the heap-exhausting stage reaches in a second.
    const r = rlhf(dir, ["run", "thread-faults.ts", "--cpus", "2", "--json"], { NODE_OPTIONS: "--max-old-space-size=400" })
    expect(r.code).toBe(1)
    expect(statuses(r)).toEqual({
      source: "ran", crash: "failed", "after-crash": "skipped", hang: "failed", throw: "failed", oom: "failed", fail: "failed", ok: "ran", count: "ran"
    })
    expect(r.stdout).toMatch(/failed\s+crash.*worker thread exited \(code 3\)/)
    expect(r.stdout).toMatch(/failed\s+hang.*timed out after 1500 ms; the worker thread was killed/)
    expect(r.stdout).toMatch(/failed\s+throw.*worker thread failed: fixture uncaught exception/)
    expect(r.stdout).toMatch(/failed\s+oom.*worker thread ran out of memory \(JS heap\)/)
    expect(r.stdout).toMatch(/failed\s+fail.*fixture failure/)
    // Nothing was stored for the failed nodes: the next run retries them, and reuses the rest.
    expect(statuses(rlhf(dir, ["run", "thread-faults.ts", "--only", "ok", "--json"]))).toMatchObject({ source: "cached", ok: "cached" })
  })

  it("a thread stage that holds a GPU runs in a worker process that sees only its device", () => {
    const dir = scratch()
    const sets = ["--set", "gpuB=1", "--set", "burnMs=0", "--set", "burnB=1"]
    const r = rlhf(dir, ["run", "threads.ts", ...sets, "--gpus", "0", "--json"])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const s = spans(dir)
    expect(s.get("a")!.pid).toBe(s.get("count")!.pid)
    expect(s.get("b")!.pid).not.toBe(s.get("count")!.pid)
    expect(s.get("b")!.thread).toBe("0")
    expect(rlhf(dir, ["show", "threads.ts", "b", ...sets, "--format", "jsonl"]).stdout).toMatch(/"device":"0:0"/)
  })

  it("run from the sources through tsx under RLHF_NO_BUNDLE=1", () => {
    const dir = scratch()
    const r = rlhf(dir, ["run", "threads.ts", "--set", "burnMs=0", "--set", "burnB=1", "--json"], { RLHF_NO_BUNDLE: "1" })
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(statuses(r)).toEqual({ source: "ran", a: "ran", b: "ran", count: "ran" })
    const s = spans(dir)
    expect(s.get("a")!.pid).toBe(s.get("count")!.pid)
    expect(s.get("a")!.thread).not.toBe("0")
  })
})
