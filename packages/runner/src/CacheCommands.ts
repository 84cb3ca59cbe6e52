/**
 * `rlhf cache ls | verify | gc`.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { hashBytes } from "./Hash.ts"
import * as Lock from "./Lock.ts"
import type { Store } from "./Store.ts"

const size = (n: number) => (n > 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n > 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`)

/** One line per entry, newest first. */
export const ls = (store: Store): string[] =>
  store.entries().sort((a, b) => (a.endedAt < b.endedAt ? 1 : -1)).map((e) => {
    const bytes = Object.values(e.outputs).reduce((s, o) => s + o.bytes, 0)
    const rows = Object.entries(e.outputs).map(([k, o]) => `${k}:${o.rows}`).join(",")
    return `${e.key.slice(0, 12)}  ${e.endedAt.slice(0, 19)}  ${e.parts.stage.padEnd(18)} ${e.node.padEnd(24)} ${String(e.ms).padStart(7)} ms  ${size(bytes).padStart(10)}  ${rows}`
  })

/** Re-hashes every object; deletes corrupt ones (and the entries that point at them). */
export const verify = (store: Store): { checked: number; corrupt: string[] } => {
  const corrupt: string[] = []
  const objects = store.objects()
  for (const h of objects) {
    const file = store.objectPath(h)
    if (hashBytes(fs.readFileSync(file)) !== h) {
      corrupt.push(h)
      fs.rmSync(file, { force: true })
    }
  }
  if (corrupt.length > 0) {
    const bad = new Set(corrupt)
    for (const e of store.entries()) if (Object.values(e.outputs).some((o) => bad.has(o.hash))) store.deleteEntry(e.key)
  }
  return { checked: objects.length, corrupt }
}

/**
 * Removes entries no pipeline node points at any more, objects no entry points at, leftover
 * temporary files, stale locks, and run logs beyond the newest `keepRuns`.
 */
export const gc = (store: Store, keepRuns = 20): { entries: number; objects: number; bytes: number } => {
  const live = new Set(store.nodeRecords().map((r) => r.key))
  let entries = 0
  for (const e of store.entries()) {
    if (!live.has(e.key)) {
      store.deleteEntry(e.key)
      entries++
    }
  }
  const kept = new Set(store.entries().flatMap((e) => Object.values(e.outputs).map((o) => o.hash)))
  let objects = 0
  let bytes = 0
  for (const h of store.objects()) {
    if (kept.has(h)) continue
    const file = store.objectPath(h)
    bytes += fs.statSync(file).size
    fs.rmSync(file, { force: true })
    objects++
  }
  const walk = (dir: string): string[] => !fs.existsSync(dir) ? [] : fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]))
  for (const f of walk(store.dir)) {
    const old = Date.now() - fs.statSync(f).mtimeMs > Lock.staleMs()
    if (old && (/\.tmp-/.test(f) || f.endsWith(".lock"))) fs.rmSync(f, { force: true })
  }
  const runs = path.join(store.dir, "runs")
  if (fs.existsSync(runs)) {
    for (const r of fs.readdirSync(runs).sort().reverse().slice(keepRuns)) fs.rmSync(path.join(runs, r), { recursive: true, force: true })
  }
  return { entries, objects, bytes }
}
