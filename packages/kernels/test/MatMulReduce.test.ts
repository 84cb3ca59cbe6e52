import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureNative, expectNativePath, expectParity, rand } from "./compare.ts"

// Float32 tolerances (relative error of norms): matmul and reductions sum many
// terms in a different order than the cpu kernels.
const TOL_MATMUL = 1e-4
const TOL_REDUCE = 1e-4
const TOL_SOFTMAX = 1e-5

beforeAll(ensureNative)

describe("matmul", () => {
  it("2-D with every transpose combination", async () => {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = () => rand(ta ? [48, 64] : [64, 48], 1)
        const b = () => rand(tb ? [32, 48] : [48, 32], 2)
        await expectNativePath(tf.BatchMatMul, () => expectParity(() => tf.matMul(a(), b(), ta, tb), TOL_MATMUL, `ta=${ta} tb=${tb}`))
      }
    }
  })

  it("batched, broadcast batch and folded shared-weight cases", async () => {
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[3, 16, 8], [3, 8, 12], false, false],
      [[2, 3, 16, 8], [2, 3, 12, 8], false, true], // attention scores q k^T
      [[3, 8, 16], [3, 8, 12], true, false],
      [[3, 16, 8], [8, 12], false, false], // shared right operand, folded into one GEMM
      [[3, 16, 8], [12, 8], false, true],
      [[1, 16, 8], [3, 8, 12], false, false],
      [[5, 7], [4, 7, 3], false, false]
    ]
    for (const [i, [sa, sb, ta, tb]] of cases.entries()) {
      await expectNativePath(tf.BatchMatMul, () => expectParity(() => tf.matMul(rand(sa, 10 + i), rand(sb, 20 + i), ta, tb), TOL_MATMUL, JSON.stringify([sa, sb])))
    }
  })

  it("a 512x512 product agrees with cpu", async () => {
    await expectParity(() => tf.matMul(rand([512, 512], 3), rand([512, 512], 4)), TOL_MATMUL, "512")
  })

  it("fused matmul with bias and activations", async () => {
    for (const activation of ["linear", "relu", "sigmoid", "elu", "relu6"] as const) {
      await expectNativePath(tf._FusedMatMul, () =>
        expectParity(() => tf.fused.matMul({ a: rand([9, 13], 5), b: rand([13, 7], 6), bias: rand([7], 7), activation }), TOL_MATMUL, activation)
      )
    }
  })

  it("rejects mismatched inner dimensions", async () => {
    await tf.setBackend("native")
    expect(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 5]))).toThrow(/inner shapes/)
  })
})

describe("softmax", () => {
  it("matches cpu along the last axis, including masked (-1e9) entries", async () => {
    await expectNativePath(tf.Softmax, async () => {
      await expectParity(() => tf.softmax(rand([7, 33], 1, -5, 5)), TOL_SOFTMAX, "2d")
      await expectParity(() => tf.softmax(rand([2, 3, 129], 2, -30, 30)), TOL_SOFTMAX, "3d")
      await expectParity(() => tf.softmax(tf.add(rand([4, 16], 3), tf.mul(tf.cast(tf.greater(rand([4, 16], 4), 0.3), "float32"), -1e9))), TOL_SOFTMAX, "masked")
    })
  })

  it("rows sum to one", async () => {
    await tf.setBackend("native")
    const sums = tf.tidy(() => tf.sum(tf.softmax(rand([10, 77], 5, -10, 10)), -1).dataSync())
    for (const s of sums) expect(Math.abs(s - 1)).toBeLessThan(1e-6)
  })
})

describe("reductions", () => {
  const axesCases: Array<[number[], number | number[] | null, boolean]> = [
    [[6, 7, 8], 0, false],
    [[6, 7, 8], -1, false],
    [[6, 7, 8], 1, true],
    [[6, 7, 8], [0, 2], false],
    [[6, 7, 8], [0, 2], true],
    [[6, 7, 8], null, false],
    [[2048, 64], 0, false], // bias gradient shape
    [[3, 1, 5, 1], [1, 2], false],
    [[13], 0, true]
  ]
  const ops: Array<[string, (x: tf.Tensor, axis: number | number[] | null, keep: boolean) => tf.Tensor, number, number]> = [
    [tf.Sum, (x, a, k) => tf.sum(x, a ?? undefined, k), -1, 1],
    [tf.Mean, (x, a, k) => tf.mean(x, a ?? undefined, k), -1, 1],
    [tf.Max, (x, a, k) => tf.max(x, a ?? undefined, k), -1, 1],
    [tf.Min, (x, a, k) => tf.min(x, a ?? undefined, k), -1, 1],
    [tf.Prod, (x, a, k) => tf.prod(x, a ?? undefined, k), 0.9, 1.1]
  ]
  for (const [kernel, op, lo, hi] of ops) {
    it(`${kernel} over any axes matches cpu`, async () => {
      for (const [i, [shape, axis, keep]] of axesCases.entries()) {
        await expectNativePath(kernel, () => expectParity(() => op(rand(shape, 50 + i, lo, hi), axis, keep), TOL_REDUCE, `${kernel} ${JSON.stringify([shape, axis, keep])}`))
      }
    })
  }

  it("argMax / argMin pick the first extreme like cpu", async () => {
    for (const axis of [0, 1, 2]) {
      await expectNativePath(tf.ArgMax, () => expectParity(() => tf.argMax(tf.round(rand([5, 6, 7], 9, -3, 3)), axis), 0, `argMax ${axis}`))
      await expectNativePath(tf.ArgMin, () => expectParity(() => tf.argMin(tf.round(rand([5, 6, 7], 10, -3, 3)), axis), 0, `argMin ${axis}`))
    }
  })
})
