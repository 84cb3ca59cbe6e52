import * as crypto from "node:crypto"
import { describe, expect, it } from "vitest"
import { hashBytes, hashString, xxh128Reference } from "../src/Hash.ts"

const reference = (bytes: Uint8Array) => xxh128Reference(bytes).toString(16).padStart(32, "0")

/** CPU milliseconds of the fastest of three calls (CPU time, so other processes do not skew it). */
const cpuMs = (fn: () => unknown) =>
  Math.min(...Array.from({ length: 3 }, () => {
    const c0 = process.cpuUsage()
    fn()
    const c = process.cpuUsage(c0)
    return (c.user + c.system) / 1000
  }))

describe("hashBytes", () => {
  it("is XXH3-128: the published digests of the empty input and of 'abc'", () => {
    expect(hashBytes(new Uint8Array(0))).toBe("99aa06d3014798d86001c324468d497f")
    expect(hashString("")).toBe("99aa06d3014798d86001c324468d497f")
    expect(hashString("abc")).toBe(reference(Buffer.from("abc")))
  })

  it("agrees with plain XXH3-128 at every length up to 1100 bytes and on large, misaligned inputs", () => {
    const bytes = crypto.randomFillSync(new Uint8Array(3 * 2 ** 20 + 64))
    for (let n = 0; n <= 1100; n++) expect(hashBytes(bytes.subarray(5, 5 + n))).toBe(reference(bytes.subarray(5, 5 + n)))
    for (const [start, end] of [[0, bytes.length], [1, 2 ** 20 + 1], [7, 3 * 2 ** 20 + 3]] as const) {
      expect(hashBytes(bytes.subarray(start, end))).toBe(reference(bytes.subarray(start, end)))
    }
  })

  it("takes the fast path: hashing 32 MiB costs under a third of the reference's CPU time", () => {
    const bytes = crypto.randomFillSync(new Uint8Array(32 * 2 ** 20))
    const fast = cpuMs(() => hashBytes(bytes))
    const slow = cpuMs(() => xxh128Reference(bytes))
    expect(fast * 3).toBeLessThan(slow)
  })
})
