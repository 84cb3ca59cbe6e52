/**
 * One computation of a cache key at a time, across runner processes sharing a store.
 *
 * A lock is a file created exclusively (`wx`); its holder touches it every second. A lock whose
 * file has not been touched for `staleMs` (its runner was killed) is broken by the next runner.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"

/** How long an untouched lock lives (override with RLHF_LOCK_STALE_MS, e.g. in tests). */
export const staleMs = () => Number(process.env["RLHF_LOCK_STALE_MS"] ?? 15_000)

const tryCreate = (file: string): boolean => {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() }), { flag: "wx" })
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false
    throw e
  }
}

const breakIfStale = (file: string) => {
  try {
    const age = Date.now() - fs.statSync(file).mtimeMs
    if (age < staleMs()) return
    // Rename first so two runners breaking the same stale lock cannot delete a fresh one.
    const grave = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`
    fs.renameSync(file, grave)
    fs.rmSync(grave, { force: true })
  } catch {
    // Gone already: someone else released or broke it.
  }
}

/**
 * Holds the lock of `file` for the scope; `onWait` is called once if another runner holds it.
 */
export const acquire = (file: string, onWait: () => void = () => {}) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      let waited = false
      while (!tryCreate(file)) {
        if (!waited) onWait()
        waited = true
        breakIfStale(file)
        yield* Effect.sleep(100)
      }
      const beat = setInterval(() => {
        try {
          const now = new Date()
          fs.utimesSync(file, now, now)
        } catch {
          // The lock was broken; the entry write that follows is still atomic.
        }
      }, 1000)
      beat.unref()
      return { beat, waited }
    }),
    ({ beat }) => Effect.sync(() => {
      clearInterval(beat)
      fs.rmSync(file, { force: true })
    })
  )
