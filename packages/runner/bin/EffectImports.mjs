/**
 * Rewrites `import { Effect, Schema } from "effect"` in workspace sources, as the launcher bundles
 * them, into one import per module (`import * as Effect from ".../effect/dist/Effect.js"`): the same
 * module instances, but tree-shakable.
 *
 * effect's root module re-exports each of its modules as a namespace (`export * as Schema from
 * "./Schema.js"`), and esbuild keeps every export of a namespace reached that way, with everything
 * those exports import: a stage that uses Schema.Struct through "effect" brought ~500 KB of effect
 * into the bundle where a direct import brings ~110 KB. Every worker and CLI process pays for the
 * difference at start-up (reading, deserialising and initialising that code).
 *
 * Only imports of value names that effect's root re-exports are rewritten (`type` names are left
 * out: they are erased anyway); a statement with any other name is left as it is. Line breaks are
 * kept, so that positions in the bundle's source map to the same lines.
 */
import * as fs from "node:fs"
import * as path from "node:path"

const IMPORT_FROM_EFFECT = /(?<![\w$.])import\s*\{([^}]*)\}\s*from\s*(["'])effect\2/g

/** name → the file that defines it and whether the root re-exports the whole module under that name. */
const barrels = new Map()

/** What the root module of effect (its dist/index.js at `indexFile`) re-exports. */
const barrelOf = (indexFile) => {
  const cached = barrels.get(indexFile)
  if (cached !== undefined) return cached
  const dir = path.dirname(indexFile)
  const source = fs.readFileSync(indexFile, "utf8").replace(/\/\*[\s\S]*?\*\//g, "")
  const names = new Map()
  for (const [, name, file] of source.matchAll(/export\s*\*\s*as\s+(\w+)\s+from\s*["'](\.\/[\w/.-]+\.js)["']/g)) {
    names.set(name, { file: path.join(dir, file), namespace: true })
  }
  for (const [, list, file] of source.matchAll(/export\s*\{([^}]*)\}\s*from\s*["'](\.\/[\w/.-]+\.js)["']/g)) {
    for (const spec of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const [name, exported = name] = spec.split(/\s+as\s+/)
      names.set(exported, { file: path.join(dir, file), namespace: false, name })
    }
  }
  barrels.set(indexFile, names)
  return names
}

/** One statement's replacement, or undefined to leave it as it is. */
const rewriteStatement = (statement, specifiers, names) => {
  const imports = []
  for (const spec of specifiers.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    if (/^type\s/.test(spec)) continue
    const m = /^(\w+)(?:\s+as\s+(\w+))?$/.exec(spec)
    const entry = m === null ? undefined : names.get(m[1])
    if (entry === undefined) return undefined
    const local = m[2] ?? m[1]
    const from = JSON.stringify(entry.file)
    imports.push(entry.namespace ? `import * as ${local} from ${from}` : `import { ${entry.name} as ${local} } from ${from}`)
  }
  return imports.join("; ") + "\n".repeat((statement.match(/\n/g) ?? []).length)
}

/**
 * `contents` with its imports from "effect" rewritten; `resolveEffect` gives the path of effect's
 * root module as seen from the file (undefined: effect is not there, nothing is rewritten).
 */
export const rewriteEffectImports = async (contents, resolveEffect) => {
  if (!IMPORT_FROM_EFFECT.test(contents)) return contents
  IMPORT_FROM_EFFECT.lastIndex = 0
  const indexFile = await resolveEffect()
  if (indexFile === undefined) return contents
  const names = barrelOf(indexFile)
  return contents.replace(IMPORT_FROM_EFFECT, (statement, specifiers) => rewriteStatement(statement, specifiers, names) ?? statement)
}
