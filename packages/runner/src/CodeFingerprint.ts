/**
 * The code fingerprint of a stage: hashes of its module and of every workspace module it imports,
 * transitively (relative imports and `@rlhf/*` packages; third-party packages are pinned by the
 * lockfile and left out). Editing a stage's file, or a helper it imports, changes the fingerprint
 * of exactly the stages that reach that file.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { hashBytes } from "./Hash.ts"

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm

const fileHashes = new Map<string, { mtimeMs: number; size: number; hash: string; imports: string[] }>()

/** The workspace root: the nearest directory up from `start` with a pnpm-workspace.yaml. */
export const workspaceRoot = (start: string): string | undefined => {
  let dir = path.resolve(start)
  for (;;) {
    if (fs.existsSync(path.join(dir, "pnpm-workspace.yaml"))) return dir
    const up = path.dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

const packageDirs = new Map<string, Map<string, string>>()

/** `@rlhf/name` → its package directory, for the workspace at `root`. */
const workspacePackages = (root: string): Map<string, string> => {
  const cached = packageDirs.get(root)
  if (cached !== undefined) return cached
  const map = new Map<string, string>()
  const pkgs = path.join(root, "packages")
  if (fs.existsSync(pkgs)) {
    for (const d of fs.readdirSync(pkgs)) {
      const pj = path.join(pkgs, d, "package.json")
      if (fs.existsSync(pj)) map.set(JSON.parse(fs.readFileSync(pj, "utf8")).name as string, path.join(pkgs, d))
    }
  }
  packageDirs.set(root, map)
  return map
}

const resolveFile = (base: string): string | undefined => {
  for (const candidate of [base, `${base}.ts`, path.join(base, "index.ts")]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate
  }
  if (base.endsWith(".js")) return resolveFile(base.slice(0, -3) + ".ts")
  return undefined
}

const resolveImport = (from: string, spec: string, root: string | undefined): string | undefined => {
  if (spec.startsWith(".")) return resolveFile(path.resolve(path.dirname(from), spec))
  if (root === undefined || !spec.startsWith("@rlhf/")) return undefined
  const parts = spec.split("/")
  const dir = workspacePackages(root).get(`${parts[0]}/${parts[1]}`)
  if (dir === undefined) return undefined
  const sub = parts.slice(2).join("/")
  return resolveFile(path.join(dir, "src", sub === "" ? "index.ts" : sub))
}

const scan = (file: string) => {
  const stat = fs.statSync(file)
  const hit = fileHashes.get(file)
  if (hit !== undefined && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit
  const bytes = fs.readFileSync(file)
  const text = bytes.toString("utf8")
  const imports: string[] = []
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]
    if (spec !== undefined) imports.push(spec)
  }
  const entry = { mtimeMs: stat.mtimeMs, size: stat.size, hash: hashBytes(bytes), imports }
  fileHashes.set(file, entry)
  return entry
}

/**
 * The files (relative to the workspace root) a module reaches, each with its content hash.
 */
export const codeFingerprint = (module: string): Record<string, string> => {
  if (!fs.existsSync(module)) return { [module]: "missing" }
  const root = workspaceRoot(path.dirname(module))
  const seen = new Map<string, string>()
  const stack = [module]
  while (stack.length > 0) {
    const file = stack.pop()!
    if (seen.has(file)) continue
    const entry = scan(file)
    seen.set(file, entry.hash)
    for (const spec of entry.imports) {
      const target = resolveImport(file, spec, root)
      if (target !== undefined && !seen.has(target)) stack.push(target)
    }
  }
  const rel = (f: string) => (root === undefined ? f : path.relative(root, f))
  return Object.fromEntries([...seen].map(([f, h]) => [rel(f), h] as const).sort(([a], [b]) => (a < b ? -1 : 1)))
}
