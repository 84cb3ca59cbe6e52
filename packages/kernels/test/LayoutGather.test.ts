import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureNative, expectNativePath, expectParity, ints, rand } from "./compare.ts"

// Data movement is exact; the segment sum adds floats in another order.
const TOL_SEGMENT = 1e-5

beforeAll(ensureNative)

const int = (shape: number[], seed: number, hi = 100) => tf.tensor(ints(shape.reduce((a, b) => a * b, 1), seed, hi), shape, "int32")

describe("transpose", () => {
  it("matches cpu for float32, int32 and bool and every kind of permutation", async () => {
    const cases: Array<[number[], number[]]> = [
      [[2, 3, 4, 5], [0, 2, 1, 3]], // attention head split (contiguous inner rows)
      [[2, 3, 4, 5], [3, 2, 1, 0]],
      [[70, 45], [1, 0]], // tiled 2-D transpose with ragged tiles
      [[3, 1, 4, 1], [3, 2, 1, 0]],
      [[4, 5, 6], [2, 0, 1]],
      [[2, 3, 4, 5, 6], [4, 1, 3, 0, 2]]
    ]
    for (const [shape, perm] of cases) {
      await expectNativePath(tf.Transpose, async () => {
        await expectParity(() => tf.transpose(rand(shape, 1), perm), 0, `f32 ${shape} ${perm}`)
        await expectParity(() => tf.transpose(int(shape, 2), perm), 0, `i32 ${shape} ${perm}`)
        await expectParity(() => tf.transpose(tf.greater(rand(shape, 3), 0), perm), 0, `bool ${shape} ${perm}`)
      })
    }
  })

  it("the identity permutation shares data and survives disposing the input", async () => {
    await tf.setBackend("native")
    const x = rand([3, 4], 4)
    const expected = Array.from(x.dataSync())
    const y = tf.transpose(x, [0, 1])
    x.dispose()
    tf.tidy(() => tf.add(rand([3, 4], 5), 1)) // reuse traffic of the same size
    expect(Array.from(y.dataSync())).toEqual(expected)
    y.dispose()
  })
})

describe("concat, stack, pad, slice, split, tile", () => {
  it("concat along each axis, skipping empty inputs", async () => {
    for (const axis of [0, 1, 2]) {
      const shapes = [[2, 3, 4], [2, 3, 4]].map((s) => s.map((d, i) => (i === axis ? d + axis : d)))
      await expectNativePath(tf.Concat, () => expectParity(() => tf.concat([rand(shapes[0]!, 1), rand(shapes[1]!, 2), rand([2, 3, 4], 3)], axis), 0, `axis ${axis}`))
    }
    await expectParity(() => tf.concat([rand([2, 0], 4), rand([2, 3], 5), rand([2, 2], 6)], 1), 0, "empty input")
    await expectParity(() => tf.concat([int([2, 3], 7), int([2, 1], 8)], 1), 0, "int32")
  })

  it("stack along each axis", async () => {
    for (const axis of [0, 1, 2, -1]) {
      await expectNativePath(tf.Pack, () => expectParity(() => tf.stack([rand([3, 4], 1), rand([3, 4], 2), rand([3, 4], 3)], axis), 0, `axis ${axis}`))
    }
  })

  it("pad with a constant", async () => {
    await expectNativePath(tf.PadV2, async () => {
      await expectParity(() => tf.pad(rand([3, 4, 5], 1), [[1, 0], [0, 2], [3, 1]], 0.5), 0, "f32")
      await expectParity(() => tf.pad(int([3, 4], 2), [[2, 1], [0, 3]], 7), 0, "i32")
      await expectParity(() => tf.pad(rand([4], 3), [[0, 0]]), 0, "no padding")
    })
  })

  it("strided slices natively, contiguous ones as views", async () => {
    await expectNativePath(tf.Slice, async () => {
      await expectParity(() => tf.slice(rand([5, 6, 7], 1), [1, 2, 3], [3, 2, 4]), 0, "3-d")
      await expectParity(() => tf.slice(int([5, 6], 2), [0, 1], [5, 3]), 0, "columns")
    })
    await expectParity(() => tf.slice(rand([5, 6], 3), [1, 0], [2, 6]), 0, "rows (view)")
  })

  it("split into equal and uneven parts along any axis", async () => {
    await expectNativePath(tf.SplitV, async () => {
      await expectParity(() => tf.split(rand([2, 5, 12], 1), 3, 2), 0, "qkv split")
      await expectParity(() => tf.split(rand([6, 5], 2), [1, 3, 2], 0), 0, "rows")
      await expectParity(() => tf.split(int([4, 6], 3), [2, 4], 1), 0, "int32")
    })
  })

  it("tile", async () => {
    await expectNativePath(tf.Tile, async () => {
      await expectParity(() => tf.tile(rand([2, 3], 1), [3, 2]), 0, "2-d")
      await expectParity(() => tf.tile(int([2, 1, 3], 2), [1, 4, 2]), 0, "3-d")
      await expectParity(() => tf.tile(rand([1, 1, 1, 1], 3), [2, 3, 4, 5]), 0, "scalar to 4-d")
      await expectParity(() => tf.broadcastTo(tf.greater(rand([2, 1, 5, 5], 4), 0), [2, 3, 5, 5]), 0, "bool mask over heads")
    })
  })
})

describe("gather, its gradient, one-hot", () => {
  it("gathers rows and inner slices like cpu", async () => {
    await expectNativePath(tf.GatherV2, async () => {
      await expectParity(() => tf.gather(rand([50, 8], 1), int([4, 6], 2, 50)), 0, "embedding")
      await expectParity(() => tf.gather(rand([3, 10, 4], 3), int([7], 4, 10), 1), 0, "axis 1")
      await expectParity(() => tf.gather(int([20, 3], 5), int([9], 6, 20)), 0, "int32 table")
    })
  })

  it("throws the cpu kernel's error for an out-of-range index", async () => {
    await tf.setBackend("native")
    expect(() => tf.tidy(() => tf.gather(tf.zeros([4, 2]), tf.tensor([1, 4], [2], "int32")))).toThrow(/GatherV2: the index value 4 is not in \[0, 3\]/)
  })

  it("unsortedSegmentSum (gather's gradient) matches cpu, dropping out-of-range ids", async () => {
    await expectNativePath(tf.UnsortedSegmentSum, async () => {
      await expectParity(() => tf.unsortedSegmentSum(rand([64, 8], 1), int([64], 2, 20) as tf.Tensor1D, 20), TOL_SEGMENT, "rows")
      await expectParity(() => tf.unsortedSegmentSum(rand([10], 3), tf.tensor([0, 1, 2, 9, 9, 1, 0, 5, 5, 5], [10], "int32"), 6), TOL_SEGMENT, "vector")
    })
  })

  it("one-hot in float32 and int32, off-range indices all off", async () => {
    await expectNativePath(tf.OneHot, async () => {
      await expectParity(() => tf.oneHot(tf.tensor([0, 3, 5, -1, 2], [5], "int32"), 5, 2, -1, "float32"), 0, "float32")
      await expectParity(() => tf.oneHot(int([3, 4], 1, 7), 7), 0, "int32")
    })
  })
})
