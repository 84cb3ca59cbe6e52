import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { AnyStage } from "@rlhf/core"
import { describe, expect, it } from "vitest"
import * as stages from "../../src/index.ts"
import { repoRoot } from "./RunStage.ts"

describe("@rlhf/stages index", () => {
  it("exports every data stage by name, each with a unique stage name and a version", () => {
    const exported = Object.values(stages).filter((v): v is AnyStage => typeof v === "object" && v !== null && "run" in v && "version" in v)
    expect(exported.map((s) => s.name).sort()).toEqual([
      "dedupe", "length-balance", "preferences", "prompts", "read-text", "sft-data", "split",
      "task-corpus", "task-eval-prompts", "task-preferences", "task-rl-prompts", "task-sft", "text-corpus", "truncate"
    ])
    for (const s of exported) expect(s.module).toMatch(/packages\/stages\/src\/(data|io)\/\w+\.ts$/)
  })

  it("loads without resolving any TensorFlow.js module", () => {
    // A resolve hook in a child process logs every module URL; none may be a tfjs package.
    const dir = mkdtempSync(join(tmpdir(), "stages-index-"))
    writeFileSync(join(dir, "hook.mjs"), "export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write(`RESOLVED ${r.url}\\n`); return r }\n")
    writeFileSync(join(dir, "register.mjs"), `import { register } from "node:module"\nregister(${JSON.stringify(`file://${join(dir, "hook.mjs")}`)})\n`)
    const r = spawnSync(process.execPath, ["--import", "tsx", "--import", join(dir, "register.mjs"), "-e", "await import('@rlhf/stages')"], {
      cwd: join(repoRoot, "packages/stages"), encoding: "utf8", timeout: 60_000
    })
    expect(r.status, r.stderr).toBe(0)
    const resolved = r.stderr.split("\n").filter((l) => l.startsWith("RESOLVED "))
    expect(resolved.some((l) => l.includes("/packages/stages/src/data/Truncate.ts"))).toBe(true)
    expect(resolved.filter((l) => /tensorflow/i.test(l))).toEqual([])
  })
})
