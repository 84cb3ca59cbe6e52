/**
 * Why a node is stale: which key part changed since the node last ran in this pipeline.
 */
import { canonicalJson } from "./Hash.ts"
import type { KeyParts } from "./Store.ts"

const show = (v: unknown) => (v === undefined ? "(unset)" : JSON.stringify(v))

const paramDiffs = (before: unknown, after: unknown): string[] => {
  const a = (before ?? {}) as Record<string, unknown>
  const b = (after ?? {}) as Record<string, unknown>
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    .filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]))
    .map((k) => `param ${k}: ${show(a[k])} → ${show(b[k])}`)
}

const mapDiffs = (label: string, before: Record<string, string>, after: Record<string, string>): string[] => {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
  return keys.filter((k) => before[k] !== after[k]).map((k) =>
    before[k] === undefined ? `${label} ${k} added` : after[k] === undefined ? `${label} ${k} removed` : `${label} ${k} changed`
  )
}

/**
 * The differences between the parts a node last ran with and its parts now. `inputs` may be
 * omitted when upstream nodes are themselves stale (their hashes are not known yet).
 */
export const why = (before: KeyParts, now: Omit<KeyParts, "inputs"> & { inputs?: KeyParts["inputs"] }): string[] => [
  ...(before.stage !== now.stage ? [`stage ${before.stage} → ${now.stage}`] : []),
  ...(before.version !== now.version ? [`version ${before.version} → ${now.version}`] : []),
  ...mapDiffs("code", before.code, now.code),
  ...paramDiffs(before.params, now.params),
  ...(now.inputs === undefined ? [] : mapDiffs("input", before.inputs, now.inputs)),
  ...mapDiffs("file", before.files, now.files),
  ...(before.seed !== now.seed ? [`seed ${before.seed} → ${now.seed}`] : [])
]
