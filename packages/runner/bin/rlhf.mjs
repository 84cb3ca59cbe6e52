#!/usr/bin/env node
/**
 * The `rlhf` launcher. It bundles the CLI, and the entry of worker processes, together with the
 * pipeline file it is given (one esbuild pass, cached until any input file changes; see Bundle.mjs)
 * and imports the CLI bundle, so that a cached rerun starts in a fraction of a second and a model
 * stage's worker in a few hundred milliseconds instead of compiling TypeScript module by module.
 * RLHF_NO_BUNDLE=1 skips the bundles and runs the sources (runner and workers) through tsx.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

const PIPELINE_COMMANDS = new Set(["run", "plan", "show", "graph", "generate"])
const args = process.argv.slice(2)
const command = args.find((a) => !a.startsWith("-"))
// The pipeline: the first argument after the command that names a file (option values such as
// `--set a.b=1` or `--store .rlhf` do not).
const isFile = (a) => !a.startsWith("-") && fs.statSync(a, { throwIfNoEntry: false })?.isFile() === true
const pipelineArg = PIPELINE_COMMANDS.has(command) ? args.slice(args.indexOf(command) + 1).find(isFile) : undefined
const pipelineFile = pipelineArg === undefined ? undefined : path.resolve(pipelineArg)

// Only this launcher's own bundle may be handed to workers, never one named in the environment.
delete process.env.RLHF_WORKER_BUNDLE
delete process.env.RLHF_WORKER_PIPELINE

if (process.env.RLHF_NO_BUNDLE === "1") {
  process.env.RLHF_TSX_LOADER ??= import.meta.resolve("tsx") // for WorkerPool too
  await import(process.env.RLHF_TSX_LOADER) // what `node --import tsx` does
  const { main } = await import(pathToFileURL(path.join(here, "../src/Cli.ts")).href)
  await main(process.argv)
} else {
  const { bundles, loadCli } = await import("./Bundle.mjs")
  const { cli, worker } = await bundles(pipelineFile).catch((e) => {
    // esbuild's message names each error's file, line and column.
    process.stderr.write(`rlhf: cannot bundle ${pipelineArg ?? "the CLI"}:\n${String(e.message).replace(/^Build failed with \d+ errors?:\n/, "")}\n`)
    process.exit(2)
  })
  if (worker !== undefined) {
    process.env.RLHF_WORKER_BUNDLE = worker
    process.env.RLHF_WORKER_PIPELINE = pipelineFile
  }
  const mod = await loadCli(cli)
  if (pipelineFile !== undefined) globalThis.__rlhfPreloaded = { file: pipelineFile, module: mod.pipeline }
  await mod.main(process.argv)
}
