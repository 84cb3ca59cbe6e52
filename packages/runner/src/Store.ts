/**
 * The content-addressed store on the local filesystem.
 *
 * Layout under the store directory (default `.rlhf/`):
 * - `objects/ab/<hash>.arrow`: stage outputs as Arrow IPC files, named by the XXH3-128 of their bytes;
 * - `entries/<key>.json`: cache key → outputs and lineage (see `Entry`);
 * - `nodes/<pipeline>/<node>.json`: the last key each node of a pipeline resolved to (for `plan`'s "why");
 * - `locks/<key>.lock`: one computation of a key at a time, across runners;
 * - `runs/<run-id>/<node>.log`: each stage's log.
 *
 * Every write is atomic (temporary file, rename), so a killed process never leaves a partial file
 * under a real name; every read of an object verifies its hash. Entries and node records are
 * fsynced before their rename. Objects are not: what a power loss could tear is found by that check
 * when the object is next read (a cache hit reads every output), then deleted and recomputed, while
 * an fsync per object cost more than hashing and writing it (it waits for tens of MB to reach disk).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Table } from "@rlhf/core"
import { hashBytes } from "./Hash.ts"
import { assemble } from "./ObjectBuffer.ts"

/** One output of a stage, as stored. */
export interface StoredOutput {
  readonly hash: string
  readonly rows: number
  readonly bytes: number
}

/** The parts a cache key is made of; kept beside the entry so `plan` can say which one changed. */
export interface KeyParts {
  readonly stage: string
  readonly version: string
  /** Workspace file → content hash, for every file the stage's module reaches. */
  readonly code: Readonly<Record<string, string>>
  readonly params: unknown
  /** Input name → content hash of the table wired into it. */
  readonly inputs: Readonly<Record<string, string>>
  /** Data file (as given in params) → content hash, for source stages. */
  readonly files: Readonly<Record<string, string>>
  readonly seed: number
}

/** A cache entry: what a key computed, with its lineage. */
export interface Entry {
  readonly key: string
  readonly parts: KeyParts
  readonly outputs: Readonly<Record<string, StoredOutput>>
  readonly node: string
  readonly pipeline: string
  readonly startedAt: string
  readonly endedAt: string
  readonly ms: number
  /** Facts recorded by the stage (tensor backend, device, worker count…) and the runner (host, pid). */
  readonly lineage: Readonly<Record<string, string>>
}

/** What `nodes/<pipeline>/<node>.json` holds. */
export interface NodeRecord {
  readonly key: string
  readonly parts: KeyParts
  readonly at: string
}

/** The store directory from a flag, `RLHF_STORE`, or `.rlhf` under the working directory. */
export const storeDir = (flag: string | undefined, cwd = process.cwd()): string =>
  path.resolve(cwd, flag ?? process.env["RLHF_STORE"] ?? ".rlhf")

const fsyncDir = (dir: string) => {
  try {
    const fd = fs.openSync(dir, "r")
    fs.fsyncSync(fd)
    fs.closeSync(fd)
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

/** Writes all of `bytes` (one write call moves at most about 2 GiB). */
const writeAll = (fd: number, bytes: Uint8Array) => {
  for (let offset = 0; offset < bytes.byteLength;) offset += fs.writeSync(fd, bytes, offset, bytes.byteLength - offset)
}

/**
 * Writes a file atomically: temporary file in the same directory, then rename. `durable` (the
 * default) fsyncs the file before the rename and its directory after it.
 */
export const writeAtomic = (file: string, bytes: Uint8Array | string, options: { readonly durable?: boolean } = {}) => {
  const durable = options.durable ?? true
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
  const fd = fs.openSync(tmp, "w")
  try {
    writeAll(fd, typeof bytes === "string" ? Buffer.from(bytes) : bytes)
    if (durable) fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  if (durable) fsyncDir(path.dirname(file))
}

/** An object whose bytes no longer match their hash. */
export class CorruptObject extends Error {
  constructor(readonly file: string, readonly expected: string, readonly actual: string) {
    super(`store object ${file} is corrupt (hash ${actual}, expected ${expected}); it will be recomputed`)
  }
}

const safe = (id: string) => id.replace(/[^A-Za-z0-9._-]/g, (c) => (c === "/" ? "__" : `_${c.charCodeAt(0).toString(16)}`))

/** The local filesystem store. */
export class Store {
  constructor(readonly dir: string) {}

  objectPath(hash: string) {
    return path.join(this.dir, "objects", hash.slice(0, 2), `${hash}.arrow`)
  }

  entryPath(key: string) {
    return path.join(this.dir, "entries", `${key}.json`)
  }

  nodePath(pipeline: string, node: string) {
    return path.join(this.dir, "nodes", safe(pipeline), `${safe(node)}.json`)
  }

  lockPath(key: string) {
    return path.join(this.dir, "locks", `${key}.lock`)
  }

  runDir(runId: string) {
    return path.join(this.dir, "runs", runId)
  }

  /** Stores bytes under their hash (a no-op when a copy of that size is there) and returns the hash. */
  putObject(bytes: Uint8Array): string {
    const hash = hashBytes(bytes)
    const file = this.objectPath(hash)
    if (fs.existsSync(file) && fs.statSync(file).size === bytes.byteLength) return hash
    writeAtomic(file, bytes, { durable: false })
    return hash
  }

  /**
   * Stores a table as an Arrow IPC file (the bytes of `Table.toIPC`), assembled in a reused buffer
   * rather than a new one, and returns its hash and size: how a stage's output is stored.
   */
  putTable(table: Table.Table): { readonly hash: string; readonly bytes: number } {
    const { chunks, byteLength } = Table.toIPCChunks(table)
    return { hash: this.putObject(assemble(chunks, byteLength)), bytes: byteLength }
  }

  /** Reads an object and verifies its hash; throws `CorruptObject` (after deleting it) when it does not match. */
  getObject(hash: string): Uint8Array {
    const file = this.objectPath(hash)
    const bytes = fs.readFileSync(file)
    const actual = hashBytes(bytes)
    if (actual !== hash) {
      fs.rmSync(file, { force: true })
      throw new CorruptObject(file, hash, actual)
    }
    return bytes
  }

  hasObject(hash: string): boolean {
    return fs.existsSync(this.objectPath(hash))
  }

  getEntry(key: string): Entry | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.entryPath(key), "utf8")) as Entry
    } catch {
      return undefined
    }
  }

  /** An entry whose outputs are all present (their hashes are verified when read). */
  getLiveEntry(key: string): Entry | undefined {
    const entry = this.getEntry(key)
    if (entry === undefined) return undefined
    return Object.values(entry.outputs).every((o) => this.hasObject(o.hash)) ? entry : undefined
  }

  putEntry(entry: Entry) {
    writeAtomic(this.entryPath(entry.key), JSON.stringify(entry, null, 1))
  }

  deleteEntry(key: string) {
    fs.rmSync(this.entryPath(key), { force: true })
  }

  getNode(pipeline: string, node: string): NodeRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.nodePath(pipeline, node), "utf8")) as NodeRecord
    } catch {
      return undefined
    }
  }

  /**
   * Reads the node records of a pipeline from one listing of its directory: a node with no record
   * costs a set lookup instead of a failing file read (plans of thousands of nodes).
   */
  nodeLookup(pipeline: string): (node: string) => NodeRecord | undefined {
    let names: ReadonlySet<string>
    try {
      names = new Set(fs.readdirSync(path.dirname(this.nodePath(pipeline, "_"))))
    } catch {
      names = new Set()
    }
    return (node) => (names.has(path.basename(this.nodePath(pipeline, node))) ? this.getNode(pipeline, node) : undefined)
  }

  putNode(pipeline: string, node: string, record: NodeRecord) {
    writeAtomic(this.nodePath(pipeline, node), JSON.stringify(record))
  }

  /** Every entry in the store. */
  entries(): Entry[] {
    const dir = path.join(this.dir, "entries")
    if (!fs.existsSync(dir)) return []
    return fs.readdirSync(dir).filter((f) => f.endsWith(".json"))
      .map((f) => this.getEntry(f.slice(0, -5)))
      .filter((e): e is Entry => e !== undefined)
  }

  /** Every node record in the store. */
  nodeRecords(): NodeRecord[] {
    const dir = path.join(this.dir, "nodes")
    if (!fs.existsSync(dir)) return []
    return fs.readdirSync(dir).flatMap((p) =>
      fs.readdirSync(path.join(dir, p)).filter((f) => f.endsWith(".json")).map((f) => {
        try {
          return JSON.parse(fs.readFileSync(path.join(dir, p, f), "utf8")) as NodeRecord
        } catch {
          return undefined
        }
      }).filter((r): r is NodeRecord => r !== undefined)
    )
  }

  /** Every object hash in the store. */
  objects(): string[] {
    const dir = path.join(this.dir, "objects")
    if (!fs.existsSync(dir)) return []
    return fs.readdirSync(dir).flatMap((d) =>
      fs.readdirSync(path.join(dir, d)).filter((f) => f.endsWith(".arrow")).map((f) => f.slice(0, -6))
    )
  }
}
