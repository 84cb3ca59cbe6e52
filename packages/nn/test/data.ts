/** Test helper: shared data files, read from ../shared/data relative to the repo root. */
import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root (packages/nn/test -> ../../..). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** Reads a file under <repo>/../shared/data, failing with a clear message when it is missing. */
export const readSharedText = (relative: string): string => {
  const file = path.resolve(repoRoot, "../shared/data", relative)
  if (!existsSync(file)) throw new Error(`shared data file missing: ${file} (tests expect ../shared/data beside the repository root)`)
  return readFileSync(file, "utf8")
}
