import { describe, expect, it } from "vitest"
import { loadAddon } from "../src/Addon.ts"
import type { NativeAddon } from "../src/Addon.ts"

const addon = (): NativeAddon => {
  const { addon: a, status } = loadAddon()
  if (a === undefined) throw new Error(`addon not built: ${status.loaded ? "" : status.reason}`)
  return a
}

describe("the addon validates its arguments instead of touching memory it was not given", () => {
  it("rejects short buffers, wrong array types, negative sizes and unknown op codes", () => {
    const a = addon()
    const f = (n: number) => new Float32Array(n)
    expect(() => a.matmul(f(6), f(6), f(3), 1, 1, 1, 2, 2, 3, false, false)).toThrow(/too short/) // out needs 4
    expect(() => a.matmul(f(6), f(6), f(4), 2, 3, 1, 2, 2, 3, false, false)).toThrow(/batch/)
    expect(() => a.binary(0, f(4), [4], f(4), [4], f(3), [4]), "short output").toThrow(/too short/)
    expect(() => a.binary(0, f(4), [4], f(3), [3], f(4), [4]), "non-broadcastable").toThrow(/broadcast/)
    expect(() => a.binary(99, f(4), [4], f(4), [4], f(4), [4])).toThrow(/op code/)
    expect(() => a.unary(0, new Int32Array(4) as unknown as Float32Array, f(4), 4, 0, 0)).toThrow(/Float32Array/)
    expect(() => a.unary(0, f(4), f(4), -1, 0, 0)).toThrow(/negative/)
    expect(() => a.transpose(f(6), [2, 3], [0, 0], f(6))).toThrow(/perm/)
    expect(() => a.slice(f(6), [2, 3], [1, 2], [1, 2], f(2))).toThrow(/out of bounds/)
    expect(() => a.pad(f(6), [2, 3], [0, -1], [0, 0], Float32Array.of(0), f(6))).toThrow(/negative/)
    expect(() => a.tile(f(6), [2, 3], [1, -2], f(6))).toThrow(/negative/)
    expect(() => a.reduce(0, f(6), [2, 3], [2], f(2))).toThrow(/axis/)
    expect(() => a.layerNorm(f(8), f(3), f(4), f(8), 2, 4, 1e-5)).toThrow(/too short/)
  })

  it("reports the first out-of-range gather index without writing", () => {
    const a = addon()
    const out = new Float32Array(4).fill(7)
    expect(a.gather(new Float32Array([1, 2, 3, 4]), Int32Array.of(1, 5), out, 1, 4, 1, 2)).toBe(1)
    expect(Array.from(out)).toEqual([7, 7, 7, 7])
    expect(a.gather(new Float32Array([1, 2, 3, 4]), Int32Array.of(3, 0), out, 1, 4, 1, 2)).toBe(-1)
    expect(Array.from(out.subarray(0, 2))).toEqual([4, 1])
  })

  it("works on views with an offset into a larger buffer", () => {
    const a = addon()
    const backing = new Float32Array(10).map((_, i) => i)
    const out = new Float32Array(10)
    a.unary(5, backing.subarray(3, 7), out.subarray(2, 6), 4, 0, 0) // neg
    expect(Array.from(out)).toEqual([0, 0, -3, -4, -5, -6, 0, 0, 0, 0])
  })
})
