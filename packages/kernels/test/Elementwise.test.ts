import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureNative, expectNativePath, expectParity, ints, rand } from "./compare.ts"

// Float32 tolerance for elementwise ops: relative error of norms (native vs cpu).
const TOL = 1e-5

beforeAll(ensureNative)

// Pairs that exercise every broadcasting branch: equal, trailing vector,
// both sides broadcast, scalar, middle axes, rank difference.
const shapePairs: Array<[number[], number[]]> = [
  [[3, 4, 5], [3, 4, 5]],
  [[3, 4, 5], [5]],
  [[3, 1, 5], [1, 4, 1]],
  [[4, 1], [1]],
  [[], [2, 3]],
  [[2, 3, 4, 5], [2, 1, 4, 1]],
  [[7, 1, 6], [7, 5, 1]],
  [[1, 1, 9], [2, 3, 9]],
  [[0, 3], [3]]
]

const binaryCases: Array<[string, string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number, number]> = [
  [tf.Add, "add", tf.add, -2, 2],
  [tf.Sub, "sub", tf.sub, -2, 2],
  [tf.Multiply, "mul", tf.mul, -2, 2],
  [tf.RealDiv, "div", tf.div, 0.5, 2],
  [tf.Maximum, "maximum", tf.maximum, -2, 2],
  [tf.Minimum, "minimum", tf.minimum, -2, 2],
  [tf.SquaredDifference, "squaredDifference", tf.squaredDifference, -2, 2],
  [tf.Pow, "pow", tf.pow, 0.5, 2]
]

describe("broadcasting binary ops", () => {
  for (const [kernel, label, op, lo, hi] of binaryCases) {
    it(`${label} matches cpu on every broadcast pattern`, async () => {
      for (const [i, [sa, sb]] of shapePairs.entries()) {
        await expectNativePath(kernel, () => expectParity(() => op(rand(sa, 10 + i, lo, hi), rand(sb, 20 + i, lo, hi)), TOL, `${label} ${JSON.stringify([sa, sb])}`))
        await expectParity(() => op(rand(sb, 30 + i, lo, hi), rand(sa, 40 + i, lo, hi)), TOL, `${label} swapped`)
      }
    })
  }

  it("int32 inputs fall back to the cpu kernel with identical results", async () => {
    await expectParity(() => tf.add(tf.tensor([1, 2, 3], [3], "int32"), tf.tensor([4], [1], "int32")), 0, "int add")
  })

  it("comparisons return identical bool tensors", async () => {
    const ops: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
      [tf.Greater, tf.greater],
      [tf.GreaterEqual, tf.greaterEqual],
      [tf.Less, tf.less],
      [tf.LessEqual, tf.lessEqual],
      [tf.Equal, tf.equal],
      [tf.NotEqual, tf.notEqual]
    ]
    for (const [kernel, op] of ops) {
      // Rounded values make equality cases frequent.
      const make = (shape: number[], seed: number) => tf.round(rand(shape, seed, -3, 3))
      await expectNativePath(kernel, () => expectParity(() => op(make([4, 6], 1), make([6], 2)), 0, kernel))
    }
  })
})

describe("unary ops", () => {
  const cases: Array<[string, (x: tf.Tensor) => tf.Tensor, number, number]> = [
    [tf.Exp, tf.exp, -20, 20],
    [tf.Log, tf.log, 1e-3, 50],
    [tf.Tanh, tf.tanh, -6, 6],
    [tf.Sqrt, tf.sqrt, 0, 50],
    [tf.Rsqrt, tf.rsqrt, 0.01, 50],
    [tf.Neg, tf.neg, -5, 5],
    [tf.Square, tf.square, -5, 5],
    [tf.Relu, tf.relu, -5, 5],
    [tf.Sigmoid, tf.sigmoid, -30, 30],
    [tf.Abs, tf.abs, -5, 5],
    [tf.Reciprocal, tf.reciprocal, 0.1, 5],
    [tf.Step, (x) => tf.step(x, 0.25), -5, 5],
    [tf.Relu6, tf.relu6, -3, 9],
    [tf.Elu, tf.elu, -5, 5],
    [tf.Softplus, tf.softplus, -30, 30],
    [tf.Floor, tf.floor, -5, 5],
    [tf.Ceil, tf.ceil, -5, 5],
    [tf.Sign, tf.sign, -5, 5],
    [tf.LeakyRelu, (x) => tf.leakyRelu(x, 0.1), -5, 5],
    [tf.Log1p, tf.log1p, -0.5, 5],
    [tf.ClipByValue, (x) => tf.clipByValue(x, -0.5, 0.7), -2, 2],
    [tf.Erf, tf.erf, -3, 3],
    [tf.Sin, tf.sin, -6, 6],
    [tf.Cos, tf.cos, -6, 6],
    [tf.Expm1, tf.expm1, -3, 3]
  ]
  for (const [kernel, op, lo, hi] of cases) {
    it(`${kernel} matches cpu`, async () => {
      // 1031 elements: not a multiple of the vector width, so tails are covered too.
      await expectNativePath(kernel, () => expectParity(() => op(rand([1031], 7, lo, hi)), TOL, kernel))
    })
  }

  it("exp, log and tanh keep their special values", async () => {
    const special = () => tf.tensor([0, -0, Infinity, -Infinity, 100, -200, 1e-40])
    const [e] = await (await import("./compare.ts")).on("native", () => tf.exp(special()))
    expect(e!.values).toEqual([1, 1, Infinity, 0, Infinity, 0, 1])
    const [l] = await (await import("./compare.ts")).on("native", () => tf.log(tf.tensor([0, 1, Infinity, -1])))
    expect(l!.values.slice(0, 3)).toEqual([-Infinity, 0, Infinity])
    expect(Number.isNaN(l!.values[3])).toBe(true)
    const [t] = await (await import("./compare.ts")).on("native", () => tf.tanh(tf.tensor([0, 30, -30])))
    expect(t!.values).toEqual([0, 1, -1])
  })
})

describe("cast, select, addN", () => {
  it("casts between float32, int32 and bool like cpu", async () => {
    await expectNativePath(tf.Cast, async () => {
      await expectParity(() => tf.cast(rand([50], 3, -100, 100), "int32"), 0, "f32->i32")
      await expectParity(() => tf.cast(tf.round(rand([50], 4, -2, 2)), "bool"), 0, "f32->bool")
      await expectParity(() => tf.cast(tf.tensor(ints(50, 5, 100), [50], "int32"), "float32"), 0, "i32->f32")
      await expectParity(() => tf.cast(tf.tensor(ints(50, 6, 3), [50], "int32"), "bool"), 0, "i32->bool")
      await expectParity(() => tf.cast(tf.greater(rand([50], 7), 0), "float32"), 0, "bool->f32")
      await expectParity(() => tf.cast(tf.greater(rand([50], 8), 0), "int32"), 0, "bool->i32")
    })
  })

  it("where selects elementwise and by row", async () => {
    await expectNativePath(tf.Select, async () => {
      await expectParity(() => tf.where(tf.greater(rand([5, 7], 1), 0), rand([5, 7], 2), rand([5, 7], 3)), 0, "elementwise")
      // A [T, T] causal mask broadcast over [B, T, T] (tf.where tiles it first).
      await expectParity(() => tf.where(tf.greater(rand([6, 6], 4), 0), rand([2, 6, 6], 5), tf.fill([2, 6, 6], -1e9)), 0, "broadcast mask")
    })
  })

  it("addN sums like cpu", async () => {
    await expectNativePath(tf.AddN, () => expectParity(() => tf.addN([rand([3, 9], 1), rand([3, 9], 2), rand([3, 9], 3)]), TOL, "addN"))
  })
})
