import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { expect, it } from "vitest"

const stagesDir = path.resolve(import.meta.dirname, "../..")

it("importing the policy stages does not load TensorFlow.js (a pipeline file stays cheap to load)", () => {
  // A fresh Node process: tfjs-core creates globalThis._tfengine when it is evaluated. Importing a
  // heavy policy module afterwards shows that the probe does see tfjs when it is loaded.
  const script = [
    `const stages = await import("./src/policy/index.ts")`,
    `const names = Object.values(stages).filter((s) => typeof s === "object" && s !== null && "run" in s).map((s) => s.name).sort()`,
    `const afterStages = globalThis._tfengine !== undefined`,
    `await import("./src/policy/Models.ts")`,
    `console.log(JSON.stringify({ names, afterStages, afterModels: globalThis._tfengine !== undefined }))`
  ].join("\n")
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: stagesDir, encoding: "utf8", timeout: 60_000 })
  const line = r.stdout.trim().split("\n").at(-1) ?? ""
  if (r.status !== 0 || !line.startsWith("{")) throw new Error(`import check failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`)
  expect(JSON.parse(line)).toEqual({
    names: ["dpo", "eval", "eval-rm", "eval-summary", "ppo-init", "ppo-iteration", "ppo-update", "prompt-filter", "reference-baseline", "rm-label-pairs", "rollout"],
    afterStages: false,
    afterModels: true
  })
})
