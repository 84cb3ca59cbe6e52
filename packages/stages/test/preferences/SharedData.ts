import { existsSync } from "node:fs"
import { resolve } from "node:path"

/** The repository root, from this file's place in packages/stages/test/preferences. */
export const repoRoot = resolve(import.meta.dirname, "../../../..")

/** Path of a shared preference file, failing loudly (not skipping) when shared data is absent. */
export const preferenceFile = (name: string): string => {
  const file = resolve(repoRoot, "../shared/data/preferences", name)
  if (!existsSync(file)) {
    throw new Error(`missing shared test data ${file}: these tests read the real samples from ../shared/data/preferences beside the repository (see shared/data/README.md); do not copy them into the repo`)
  }
  return file
}
