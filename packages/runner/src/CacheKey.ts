/**
 * The cache key of a node: XXH3-128 over a length-prefixed encoding of the stage name (not the
 * node id, so equal work is shared between nodes), its version, its code fingerprint, its
 * canonical params, the content hashes of its inputs and of the files it reads, and the seed.
 * The tensor backend is lineage, not key: the same work on another backend is a cache hit.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { type Pipeline, StageError } from "@rlhf/core"
import * as CodeFingerprint from "./CodeFingerprint.ts"
import { canonicalJson, hashBytes, hashParts, hashString } from "./Hash.ts"
import type { KeyParts } from "./Store.ts"

const fileHashCache = new Map<string, { mtimeMs: number; size: number; hash: string }>()

/** The content hash of a data file (memoised on mtime and size within a process). */
export const hashFile = (file: string): string => {
  const stat = fs.statSync(file)
  const hit = fileHashCache.get(file)
  if (hit !== undefined && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.hash
  const hash = hashBytes(fs.readFileSync(file))
  fileHashCache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, hash })
  return hash
}

/** Content hashes of the files a node reads (as named in its params, resolved against `cwd`). */
export const fileParts = (node: Pipeline.ResolvedNode, cwd: string): Record<string, string> => {
  const files = node.stage.files?.(node.params) ?? []
  const out: Record<string, string> = {}
  for (const f of files) {
    const abs = path.resolve(cwd, f)
    if (!fs.existsSync(abs)) {
      throw new StageError({ node: node.id, stage: node.stage.name, reason: `data file not found: ${abs} (from the params of node '${node.id}'; fix it with --set ${node.id}.<param>=<path>)` })
    }
    out[f] = hashFile(abs)
  }
  return out
}

/**
 * Every part of a node's key but its inputs, which are known only once upstream nodes have run.
 * Pass one `fingerprint` (CodeFingerprint.fingerprinter()) for all the nodes of a plan or run, so
 * that the nodes of one stage share one walk of its files.
 */
export const staticParts = (
  node: Pipeline.ResolvedNode,
  cwd: string,
  seed: number,
  fingerprint: CodeFingerprint.Fingerprinter = CodeFingerprint.codeFingerprint
): Omit<KeyParts, "inputs"> => ({
  stage: node.stage.name,
  version: node.stage.version,
  code: fingerprint(node.stage.module),
  params: JSON.parse(canonicalJson(node.params ?? {})),
  files: fileParts(node, cwd),
  seed
})

// A fingerprinter hands the nodes of a stage one frozen object: hash it once.
const codeHashes = new WeakMap<object, string>()

const codeHash = (code: Readonly<Record<string, string>>): string => {
  const hit = codeHashes.get(code)
  if (hit !== undefined) return hit
  const hash = hashString(canonicalJson(code))
  if (Object.isFrozen(code)) codeHashes.set(code, hash)
  return hash
}

/** The key of a set of parts. */
export const keyOf = (parts: KeyParts): string =>
  hashParts([
    ["stage", parts.stage],
    ["version", parts.version],
    ["code", codeHash(parts.code)],
    ["params", canonicalJson(parts.params)],
    ["inputs", canonicalJson(parts.inputs)],
    ["files", canonicalJson(parts.files)],
    ["seed", String(parts.seed)]
  ])
