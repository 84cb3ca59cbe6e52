import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { BufferPool, sizeClass } from "../src/BufferPool.ts"
import { poolStats } from "../src/index.ts"
import { ensureNative, ints, rand } from "./compare.ts"

beforeAll(ensureNative)

describe("BufferPool", () => {
  it("recycles released buffers of the same type and length only", () => {
    const pool = new BufferPool(1 << 20)
    const a = pool.f32(100)
    pool.retain(a)
    pool.release(a)
    expect(pool.stats()).toMatchObject({ buffers: 1, bytes: 400 })
    expect(pool.i32(100)).not.toBe(a)
    expect(pool.f32(99)).not.toBe(a)
    expect(pool.f32(100)).toBe(a)
    expect(pool.stats().buffers).toBe(0)
  })

  it("never recycles an escaped buffer or one still viewed by another entry", () => {
    const pool = new BufferPool(1 << 20)
    const a = pool.f32(64)
    pool.retain(a)
    pool.escape(a)
    pool.release(a)
    expect(pool.stats().buffers).toBe(0)
    const b = pool.f32(64)
    const view = b.subarray(8, 16)
    pool.retain(b)
    pool.retain(view)
    pool.release(b)
    expect(pool.stats().buffers).toBe(0) // the view still lives
    pool.release(view)
    expect(pool.stats().buffers).toBe(1)
  })

  it("serves large requests from size classes as exact-length views", () => {
    const pool = new BufferPool(1 << 24)
    const a = pool.f32(20000)
    expect(a.length).toBe(20000)
    expect(a.buffer.byteLength).toBe(4 * sizeClass(20000))
    pool.retain(a)
    pool.release(a)
    const b = pool.f32(20100) // a slightly larger request of the same class reuses the buffer
    expect(b.length).toBe(20100)
    expect(b.buffer).toBe(a.buffer)
    expect(sizeClass(20000)).toBeLessThanOrEqual(1.25 * 20000)
    expect(sizeClass(100)).toBe(100)
  })

  it("falls back to a free buffer up to 4x larger before allocating", () => {
    const pool = new BufferPool(1 << 24)
    const big = pool.f32(65536)
    pool.retain(big)
    pool.release(big)
    const small = pool.f32(20000)
    expect(small.buffer).toBe(big.buffer)
    expect(small.length).toBe(20000)
    pool.retain(small)
    pool.release(small)
    // A request that is exactly a class size, served from a larger class, is still a view
    // of exactly that length (returning the whole buffer corrupted results once).
    expect(sizeClass(20480)).toBe(20480)
    const exact = pool.f32(20480)
    expect(exact.buffer).toBe(big.buffer)
    expect(exact.length).toBe(20480)
    pool.retain(exact)
    pool.release(exact)
    expect(pool.f32(65536).buffer).toBe(big.buffer) // returned under the buffer's own size
    const tiny = pool.f32(16384)
    pool.retain(tiny)
    pool.release(tiny)
    expect(pool.f32(100000).buffer).not.toBe(tiny.buffer) // smaller buffers never serve larger requests
  })

  it("ignores arrays it did not allocate", () => {
    const pool = new BufferPool(1 << 20)
    const user = new Float32Array(10)
    pool.retain(user)
    pool.release(user)
    expect(pool.stats().buffers).toBe(0)
  })

  it("stays under its byte cap, evicting the oldest lengths first", () => {
    const pool = new BufferPool(3500)
    const arrays = [100, 200, 300, 400].map((n) => pool.f32(n)) // 400 + 800 + 1200 + 1600 bytes
    for (const a of arrays) pool.retain(a), pool.release(a)
    expect(pool.stats().bytes).toBeLessThanOrEqual(3500)
    expect(pool.f32(400)).toBe(arrays[3]) // the newest survived
    expect(pool.f32(300)).toBe(arrays[2])
    expect(pool.f32(100)).not.toBe(arrays[0]) // the oldest was evicted
  })
})

describe("memory over many training steps on the native backend", () => {
  it("keeps numTensors flat and the pool bounded and stable", async () => {
    await tf.setBackend("native")
    const vocab = 32, d = 16
    const table = tf.variable(rand([vocab, d], 1, -0.1, 0.1)), w = tf.variable(rand([d, vocab], 2, -0.1, 0.1)), b = tf.variable(tf.zeros([vocab]))
    const ids = tf.tensor(ints(64, 3, vocab), [8, 8], "int32"), targets = tf.tensor(ints(64, 4, vocab), [64], "int32")
    const step = (): number => {
      const loss = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const h = tf.reshape(tf.tanh(tf.gather(table, ids)), [64, d])
          const logits = tf.add(tf.matMul(h, w), b)
          return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, vocab, 1, 0, "float32")), -1))) as tf.Scalar
        })
        for (const v of [table, w, b]) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.5)))
        return value
      })
      const value = loss.dataSync()[0]!
      loss.dispose()
      return value
    }
    const first = step()
    const tensors = tf.memory().numTensors
    for (let i = 0; i < 9; i++) step()
    const warm = poolStats()!
    let last = first
    for (let i = 0; i < 60; i++) last = step()
    const end = poolStats()!
    expect(last).toBeLessThan(first) // it trains
    expect(tf.memory().numTensors).toBe(tensors)
    expect(end.bytes).toBeLessThanOrEqual(end.maxBytes)
    expect(end.buffers).toBeLessThanOrEqual(warm.buffers + 2) // no unbounded growth
    // After warm-up nearly every output buffer is recycled: fresh allocations are the
    // per-step escaped loss scalars and small constants, not activations.
    const hits = end.hits - warm.hits, misses = end.misses - warm.misses
    expect(hits).toBeGreaterThan(60 * 20)
    expect(misses / (hits + misses)).toBeLessThan(0.1)
    tf.dispose([table, w, b, ids, targets])
  })
})
