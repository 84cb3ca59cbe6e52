/**
 * Helpers for the engine's end-to-end tests: a scratch copy of the fixture pipeline, and the
 * `rlhf` CLI run as a real process against it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll } from "vitest"

export const repoRoot = path.resolve(import.meta.dirname, "../..")
const bin = path.join(repoRoot, "packages/runner/bin/rlhf.mjs")

const made: string[] = []

// Scratch directories go when the test file is done (RLHF_KEEP_TEST_DIRS=1 keeps them), and with
// them, at the launcher's next build, the bundles it cached for their pipeline files.
afterAll(() => {
  if (process.env["RLHF_KEEP_TEST_DIRS"] !== "1") for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

/** A fresh copy of test/fixtures/engine under test/.tmp (so `@rlhf/*` resolves), with its own store. */
export const scratch = (): string => {
  const dir = path.join(repoRoot, "test/.tmp", `engine-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`)
  fs.cpSync(path.join(repoRoot, "test/fixtures/engine"), dir, { recursive: true })
  made.push(dir)
  return dir
}

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const env = (dir: string, extra: Record<string, string>) => ({
  ...process.env,
  RLHF_STORE: path.join(dir, ".rlhf"),
  RLHF_TEST_EVENTS: path.join(dir, "events.log"),
  RLHF_TEST_PIDS: path.join(dir, "pids.log"),
  ...extra
})

/** Runs `rlhf <args>` in `dir` and waits for it. */
export const rlhf = (dir: string, args: ReadonlyArray<string>, extra: Record<string, string> = {}): CliResult => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env: env(dir, extra), encoding: "utf8", timeout: 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Starts `rlhf <args>` in `dir` without waiting. */
export const rlhfAsync = (dir: string, args: ReadonlyArray<string>, extra: Record<string, string> = {}): ChildProcess =>
  spawn(process.execPath, [bin, ...args], { cwd: dir, env: env(dir, extra), stdio: ["ignore", "pipe", "pipe"] })

/** Waits for a started CLI process to exit. */
export const done = (child: ChildProcess): Promise<CliResult> =>
  new Promise((resolve) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/** The `--json` summary: node id → status. */
export const statuses = (r: CliResult): Record<string, string> => {
  const last = r.stdout.trim().split("\n").at(-1) ?? ""
  try {
    const summary = JSON.parse(last) as { stages: Array<{ id: string; status: string }> }
    return Object.fromEntries(summary.stages.map((s) => [s.id, s.status]))
  } catch {
    throw new Error(`no JSON summary on the last line:\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`)
  }
}

/** The `--json` summary's keys: node id → key. */
export const keys = (r: CliResult): Record<string, string | null> => {
  const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { stages: Array<{ id: string; key: string | null }> }
  return Object.fromEntries(summary.stages.map((s) => [s.id, s.key]))
}

/** Side-channel events written by the fixture stages: `[event, node, stage, time, device, pid]`. */
export const events = (dir: string): string[][] => {
  const file = path.join(dir, "events.log")
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").filter((l) => l !== "").map((l) => l.split(" ")) : []
}

/** Polls until `check` holds or the time is up. */
export const waitFor = async (check: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting")
    await new Promise((r) => setTimeout(r, 50))
  }
}
