import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { expect, it } from "vitest"

const stagesDir = path.resolve(import.meta.dirname, "../..")
const modules = ["TokenizerTrain", "Pretrain", "Sft", "GenerateText", "Corpus", "ModelStage"].map((m) => `./src/model/${m}.ts`)

it("importing the model stage modules does not load TensorFlow.js (a pipeline file stays cheap to load)", () => {
  // A fresh Node process (this one may have loaded tfjs for other tests): tfjs-core creates its
  // engine, globalThis._tfengine, when it is evaluated. Importing nn's Gpt afterwards shows the
  // probe does see tfjs when it is loaded.
  const script = [
    `for (const m of ${JSON.stringify(modules)}) await import(m)`,
    `const afterStages = globalThis._tfengine !== undefined`,
    `await import("@rlhf/nn/Gpt")`,
    `console.log(JSON.stringify({ afterStages, afterGpt: globalThis._tfengine !== undefined }))`
  ].join("\n")
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: stagesDir, encoding: "utf8", timeout: 60_000 })
  const line = r.stdout.trim().split("\n").at(-1) ?? ""
  if (r.status !== 0 || !line.startsWith("{")) throw new Error(`import check failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`)
  expect(JSON.parse(line)).toEqual({ afterStages: false, afterGpt: true })
})
