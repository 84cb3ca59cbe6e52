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

const fileHashes = new Map<string, Scanned>()

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

/** What one plan or run remembers about the filesystem, so each file is looked at once. */
interface Memo {
  /** Workspace root per directory. */
  readonly roots: Map<string, string | undefined>
  /** Path → whether it is a file. */
  readonly files: Map<string, boolean>
  /** Importing directory + specifier → resolved file. */
  readonly imports: Map<string, string | undefined>
  /** File → its scan (stat once; read only when its mtime or size changed since the last scan). */
  readonly scans: Map<string, Scanned>
  /** Module → its fingerprint. */
  readonly modules: Map<string, Readonly<Record<string, string>>>
}

interface Scanned {
  readonly mtimeMs: number
  readonly size: number
  readonly hash: string
  readonly imports: ReadonlyArray<string>
}

const newMemo = (): Memo => ({ roots: new Map(), files: new Map(), imports: new Map(), scans: new Map(), modules: new Map() })

const memoGet = <K, V>(map: Map<K, V>, key: K, make: () => V): V => {
  if (map.has(key)) return map.get(key) as V
  const value = make()
  map.set(key, value)
  return value
}

const isFile = (memo: Memo, candidate: string): boolean =>
  memoGet(memo.files, candidate, () => fs.statSync(candidate, { throwIfNoEntry: false })?.isFile() ?? false)

const resolveFile = (memo: Memo, base: string): string | undefined => {
  for (const candidate of [base, `${base}.ts`, path.join(base, "index.ts")]) {
    if (isFile(memo, candidate)) return candidate
  }
  if (base.endsWith(".js")) return resolveFile(memo, base.slice(0, -3) + ".ts")
  return undefined
}

const resolveImport = (memo: Memo, from: string, spec: string, root: string | undefined): string | undefined => {
  const relative = spec.startsWith(".")
  if (!relative && (root === undefined || !spec.startsWith("@rlhf/"))) return undefined
  // A relative specifier means the same file from every importer in one directory.
  return memoGet(memo.imports, relative ? `${path.dirname(from)}\0${spec}` : `${root}\0${spec}`, () => {
    if (relative) return resolveFile(memo, path.resolve(path.dirname(from), spec))
    const parts = spec.split("/")
    const dir = workspacePackages(root!).get(`${parts[0]}/${parts[1]}`)
    if (dir === undefined) return undefined
    const sub = parts.slice(2).join("/")
    return resolveFile(memo, path.join(dir, "src", sub === "" ? "index.ts" : sub))
  })
}

const scanUncached = (file: string): Scanned => {
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

const fingerprint = (memo: Memo, module: string): Readonly<Record<string, string>> => {
  if (!fs.existsSync(module)) return Object.freeze({ [module]: "missing" })
  const dir = path.dirname(module)
  const root = memoGet(memo.roots, dir, () => workspaceRoot(dir))
  const seen = new Map<string, string>()
  const stack = [module]
  while (stack.length > 0) {
    const file = stack.pop()!
    if (seen.has(file)) continue
    const entry = memoGet(memo.scans, file, () => scanUncached(file))
    seen.set(file, entry.hash)
    for (const spec of entry.imports) {
      const target = resolveImport(memo, file, spec, root)
      if (target !== undefined && !seen.has(target)) stack.push(target)
    }
  }
  const rel = (f: string) => (root === undefined ? f : path.relative(root, f))
  return Object.freeze(Object.fromEntries([...seen].map(([f, h]) => [rel(f), h] as const).sort(([a], [b]) => (a < b ? -1 : 1))))
}

/** A function from a module to its code fingerprint. */
export type Fingerprinter = (module: string) => Readonly<Record<string, string>>

/**
 * A fingerprinter for one plan or one run: each module is fingerprinted once and each file is
 * stat'ed, resolved and (when changed) read once, however many nodes share the stage. The result
 * objects are frozen and shared between the nodes of a stage. A file edited during the run is
 * seen by the next plan or run.
 */
export const fingerprinter = (): Fingerprinter => {
  const memo = newMemo()
  return (module) => memoGet(memo.modules, module, () => fingerprint(memo, module))
}

/**
 * The files (relative to the workspace root) a module reaches, each with its content hash. Each
 * call looks at the files afresh; use {@link fingerprinter} to fingerprint many nodes.
 */
export const codeFingerprint = (module: string): Readonly<Record<string, string>> => fingerprint(newMemo(), module)
