/**
 * What `run` would do, node by node, and why: which key part changed since the node last ran.
 */
import type { Pipeline } from "@rlhf/core"
import * as CacheKey from "./CacheKey.ts"
import { fingerprinter } from "./CodeFingerprint.ts"
import type { KeyParts, Store } from "./Store.ts"
import { why } from "./Why.ts"

/** One node of a plan. */
export interface PlanNode {
  readonly id: string
  readonly stage: string
  /** `cached`: reused as is; `stale`: will run; `maybe`: will run unless its inputs come out unchanged. */
  readonly status: "cached" | "stale" | "maybe"
  readonly key: string | null
  readonly reasons: ReadonlyArray<string>
}

/** Plans a run of a resolved pipeline against a store. */
export const plan = (resolved: Pipeline.Resolved, store: Store, options: { readonly cwd: string; readonly seed: number; readonly force?: ReadonlyArray<string> }): PlanNode[] => {
  const outputs = new Map<string, Record<string, string>>()
  const forced = new Set(options.force ?? [])
  const fingerprint = fingerprinter()
  const records = store.nodeLookup(resolved.name)
  return resolved.nodes.map((node): PlanNode => {
    const record = records(node.id)
    let partial: Omit<KeyParts, "inputs">
    try {
      partial = CacheKey.staticParts(node, options.cwd, options.seed, fingerprint)
    } catch (e) {
      return { id: node.id, stage: node.stage.name, status: "stale", key: null, reasons: [(e as Error).message] }
    }
    const staleUp = Object.entries(node.inputs).filter(([, r]) => !outputs.has(r.node))
    if (staleUp.length > 0) {
      const changed = record === undefined ? ["no entry (never ran)"] : why(record.parts, partial)
      const upstream = staleUp.map(([name, r]) => `input ${name}: upstream '${r.node}' will rerun`)
      return { id: node.id, stage: node.stage.name, status: changed.length > 0 ? "stale" : "maybe", key: null, reasons: [...changed, ...upstream] }
    }
    const inputs = Object.fromEntries(Object.entries(node.inputs).map(([name, r]) => [name, outputs.get(r.node)![r.output]!]))
    const parts: KeyParts = { ...partial, inputs }
    const key = CacheKey.keyOf(parts)
    const entry = store.getLiveEntry(key)
    const cacheable = (node.stage.cache ?? "default") === "default" && !forced.has(node.id)
    if (entry !== undefined && cacheable) {
      outputs.set(node.id, Object.fromEntries(Object.entries(entry.outputs).map(([k, o]) => [k, o.hash])))
      return { id: node.id, stage: node.stage.name, status: "cached", key, reasons: [] }
    }
    const reasons = !cacheable ? [forced.has(node.id) ? "forced" : `cache policy '${node.stage.cache}'`]
      : record === undefined ? ["no entry (never ran)"]
      : record.key === key ? ["no entry in the store (deleted or collected)"]
      : why(record.parts, parts)
    return { id: node.id, stage: node.stage.name, status: "stale", key, reasons }
  })
}

