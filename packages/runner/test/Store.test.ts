/**
 * The store's object writes: content addresses, the reused assembly buffer, and what a write torn
 * by a power loss (objects are not fsynced) looks like to a reader.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Columns, Table } from "@rlhf/core"
import { Schema } from "effect"
import { afterAll, describe, expect, it, vi } from "vitest"
import { hashBytes } from "../src/Hash.ts"
import { assemble, IDLE_MS, POOL_MIN_BYTES } from "../src/ObjectBuffer.ts"
import { CorruptObject, Store } from "../src/Store.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rlhf-store-test-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
const freshStore = () => new Store(fs.mkdtempSync(path.join(root, "s-")))

const Row = Schema.Struct({ id: Columns.Int32, text: Columns.Utf8, v: Columns.Vector(4) })
const tableOf = (n: number, tag: string) =>
  Table.make(Row, Array.from({ length: n }, (_, i) => ({ id: i, text: `${tag}-${i}`, v: [i, i + 1, i * 0.5, -i] })))

const allFiles = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => d.isDirectory() ? allFiles(path.join(dir, d.name)) : [path.join(dir, d.name)])

describe("Store.putTable", () => {
  it("stores the bytes of Table.toIPC under their XXH3-128, as putObject does", () => {
    const store = freshStore()
    const table = tableOf(1000, "a")
    const ipc = Table.toIPC(table)
    const put = store.putTable(table)
    expect(put).toStrictEqual({ hash: hashBytes(ipc), bytes: ipc.byteLength })
    expect(Buffer.from(store.getObject(put.hash)).equals(Buffer.from(ipc))).toBe(true)
    expect(store.putObject(ipc)).toBe(put.hash)
  })

  it("writes one object after another through the reused buffer without disturbing earlier ones", () => {
    const store = freshStore()
    const tables = [tableOf(5000, "big"), tableOf(10, "small"), tableOf(3000, "mid"), tableOf(0, "empty")]
    const puts = tables.map((t) => store.putTable(t))
    expect(new Set(puts.map((p) => p.hash)).size).toBe(4)
    puts.forEach((p, i) => expect(Buffer.from(store.getObject(p.hash)).equals(Buffer.from(Table.toIPC(tables[i]!)))).toBe(true))
    // Only the objects themselves: no temporary files left beside them.
    expect(allFiles(store.dir).map((f) => path.basename(f)).sort()).toStrictEqual(puts.map((p) => `${p.hash}.arrow`).sort())
  })

  it("an object torn by a power loss (zero-filled, or empty) is refused on read and deleted, then written anew", () => {
    const store = freshStore()
    const table = tableOf(200, "t")
    const { hash, bytes } = store.putTable(table)
    const file = store.objectPath(hash)
    fs.writeFileSync(file, new Uint8Array(bytes))
    expect(() => store.getObject(hash)).toThrow(CorruptObject)
    expect(fs.existsSync(file)).toBe(false)
    fs.writeFileSync(file, new Uint8Array(0))
    expect(() => store.getObject(hash)).toThrow(CorruptObject)
    fs.writeFileSync(file, new Uint8Array(0))
    expect(store.putTable(table).hash).toBe(hash) // a copy of another size is replaced
    expect(Buffer.from(store.getObject(hash)).equals(Buffer.from(Table.toIPC(table)))).toBe(true)
  })
})

describe("ObjectBuffer.assemble", () => {
  const big = (fill: number, n = POOL_MIN_BYTES + 10) => new Uint8Array(n).fill(fill)

  it("joins the pieces in order, and reuses its buffer for an object no larger than the last", () => {
    const small = assemble([Uint8Array.of(1, 2, 3), Uint8Array.of(), Uint8Array.of(4, 5)], 5)
    expect([...small]).toStrictEqual([1, 2, 3, 4, 5])
    const a = assemble([big(1), Uint8Array.of(7)], POOL_MIN_BYTES + 11)
    expect(a[0]).toBe(1)
    expect(a[POOL_MIN_BYTES + 10]).toBe(7)
    const b = assemble([big(9, POOL_MIN_BYTES)], POOL_MIN_BYTES)
    expect(b.every((x) => x === 9)).toBe(true)
    expect(b.buffer).toBe(a.buffer)
    // Small objects get buffers of their own.
    expect(assemble([Uint8Array.of(1)], 1).buffer).not.toBe(a.buffer)
  })

  it("drops its buffer once unused for IDLE_MS, and keeps it while in use", () => {
    vi.useFakeTimers()
    try {
      const a = assemble([big(1)], POOL_MIN_BYTES + 10)
      vi.advanceTimersByTime(IDLE_MS * 0.9)
      const b = assemble([big(2, POOL_MIN_BYTES)], POOL_MIN_BYTES)
      expect(b.buffer).toBe(a.buffer)
      vi.advanceTimersByTime(IDLE_MS * 0.9) // 1.8 × IDLE_MS after the first use, 0.9 after the last
      expect(assemble([big(3, POOL_MIN_BYTES)], POOL_MIN_BYTES).buffer).toBe(a.buffer)
      vi.advanceTimersByTime(IDLE_MS + 1)
      const c = assemble([big(4, POOL_MIN_BYTES)], POOL_MIN_BYTES)
      expect(c.buffer).not.toBe(a.buffer)
      expect(c.every((x) => x === 4)).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  it("refuses pieces that do not add up to the length given", () => {
    expect(() => assemble([Uint8Array.of(1, 2)], 3)).toThrow(/hold 2 bytes, expected 3/)
  })
})
