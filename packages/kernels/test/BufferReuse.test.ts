import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, beforeEach, describe, expect, it } from "vitest"
import { poolStats } from "../src/index.ts"
import { ensureNative, expectParity, ints, rand, relErr } from "./compare.ts"

beforeAll(ensureNative)
beforeEach(async () => {
  await tf.setBackend("native")
})

const stats = () => {
  const s = poolStats()
  if (s === undefined) throw new Error("native backend not initialised")
  return s
}

/** Same-sized traffic: many ops whose outputs are disposed again (feeding the pool). */
const churn = (shape: number[], rounds = 20) => {
  for (let i = 0; i < rounds; i++) {
    tf.tidy(() => {
      const x = rand(shape, 100 + i, -9, 9)
      return tf.exp(tf.mul(tf.add(x, x), 0.1))
    }).dispose()
  }
}

describe("buffer reuse", () => {
  it("actually recycles disposed outputs", () => {
    churn([64, 64], 5)
    const before = stats().hits
    churn([64, 64], 10)
    expect(stats().hits - before).toBeGreaterThanOrEqual(20)
  })

  it("an array returned by dataSync() never changes, even after its tensor is disposed", () => {
    const a = tf.tidy(() => tf.add(rand([64, 64], 1), 1))
    const held = a.dataSync()
    const copy = Float32Array.from(held)
    a.dispose()
    churn([64, 64])
    expect(held).toEqual(copy)
  })

  it("a held array of a live tensor is unchanged while others are disposed and ops run", () => {
    const a = tf.tidy(() => tf.mul(rand([32, 32], 2), 3))
    const held = a.dataSync()
    const copy = Float32Array.from(held)
    const others = Array.from({ length: 10 }, (_, i) => tf.tidy(() => tf.sub(rand([32, 32], 10 + i), 1)))
    tf.dispose(others)
    churn([32, 32])
    expect(held).toEqual(copy)
    expect(a.dataSync()).toEqual(copy)
    a.dispose()
  })

  it("arrays from await data() are never reused either", async () => {
    const a = tf.tidy(() => tf.tanh(rand([48, 48], 3)))
    const held = (await a.data()) as Float32Array
    const copy = Float32Array.from(held)
    a.dispose()
    churn([48, 48])
    expect(held).toEqual(copy)
  })

  it("a zero-copy slice keeps its parent's buffer out of the pool", () => {
    const parent = tf.tidy(() => tf.add(rand([16, 40], 4), 2))
    const view = tf.slice(parent, [4, 0], [8, 40]) // contiguous rows: a subarray of the parent
    const expected = Array.from(tf.tidy(() => tf.slice(tf.add(rand([16, 40], 4), 2), [4, 0], [8, 40])).dataSync())
    parent.dispose()
    churn([16, 40])
    expect(Array.from(view.dataSync())).toEqual(expected)
    view.dispose()
  })

  it("kernels that must initialise their output do so on recycled (dirty) buffers", async () => {
    // Fill the pool with dirty buffers of the exact output sizes first.
    const dirty = (n: number) => tf.tidy(() => tf.add(rand([n], 5, 50, 60), 0)).dispose()
    for (let i = 0; i < 4; i++) dirty(20 * 8), dirty(5 * 7), dirty(7 * 6)
    await expectParity(() => tf.unsortedSegmentSum(rand([30, 8], 6), tf.tensor(ints(30, 7, 20), [30], "int32"), 20), 1e-5, "segment sum")
    for (let i = 0; i < 4; i++) dirty(20 * 8), dirty(5 * 7), dirty(7 * 6)
    await expectParity(() => tf.oneHot(tf.tensor([1, 0, 6, 3, 2], [5], "int32"), 7), 0, "one-hot")
    for (let i = 0; i < 4; i++) dirty(20 * 8), dirty(5 * 7), dirty(7 * 6)
    await expectParity(() => tf.pad(rand([5, 4], 8), [[1, 1], [1, 1]]), 0, "pad")
  })

  it("results computed into recycled buffers equal fresh cpu results", async () => {
    churn([64, 64], 3)
    const a = Array.from(rand([64, 64], 9).dataSync()), b = Array.from(rand([64, 64], 10).dataSync())
    const compute = () => tf.softmax(tf.matMul(tf.tensor(a, [64, 64]), tf.tensor(b, [64, 64])))
    const native = tf.tidy(() => Array.from(compute().dataSync()))
    await tf.setBackend("cpu")
    const cpu = tf.tidy(() => Array.from(compute().dataSync()))
    expect(relErr(native, cpu)).toBeLessThan(1e-4)
  })
})
