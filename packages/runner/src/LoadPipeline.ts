/**
 * Loads a pipeline file: its default export (or an export named `pipeline`) must be a Pipeline.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { Pipeline } from "@rlhf/core"

/** Imports a `.ts` pipeline file (the process runs under tsx) and returns its pipeline. */
export const loadPipeline = async (file: string): Promise<Pipeline.Pipeline> => {
  const abs = path.resolve(file)
  if (!fs.existsSync(abs)) throw new Error(`pipeline file ${abs} does not exist`)
  // The launcher bundles the pipeline with the CLI and hands over its module (see bin/rlhf.mjs).
  const preloaded = (globalThis as { __rlhfPreloaded?: { file: string; module: Record<string, unknown> } }).__rlhfPreloaded
  const mod = preloaded?.file === abs ? preloaded.module : (await import(pathToFileURL(abs).href)) as Record<string, unknown>
  const p = (mod["default"] ?? mod["pipeline"]) as Pipeline.Pipeline | undefined
  if (p === undefined || typeof p.build !== "function") {
    throw new Error(`${abs} must export a pipeline: \`export default Pipeline.make("name", (p) => { ... })\``)
  }
  return { ...p, module: abs }
}
