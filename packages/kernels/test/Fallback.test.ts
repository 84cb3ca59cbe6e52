import * as tf from "@tensorflow/tfjs-core"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { getThreads, nativeAvailable, nativeStatus, registerNativeBackend, setThreads } from "../src/index.ts"
import "./compare.ts"

const env = process.env
afterEach(() => {
  delete env["RLHF_KERNELS_DISABLE"]
  delete env["RLHF_KERNELS_ADDON"]
})

describe("without the addon", () => {
  it("RLHF_KERNELS_DISABLE=1: registerNativeBackend() resolves false and registers nothing", async () => {
    env["RLHF_KERNELS_DISABLE"] = "1"
    expect(nativeAvailable()).toBe(false)
    expect(nativeStatus()).toEqual({ loaded: false, reason: expect.stringContaining("RLHF_KERNELS_DISABLE") })
    await expect(registerNativeBackend()).resolves.toBe(false)
    expect(tf.findBackendFactory("native")).toBeNull()
    expect(tf.getKernel("RlhfLayerNorm", "native")).toBeUndefined()
    expect(() => setThreads(1)).not.toThrow()
    expect(getThreads()).toBe(0)
  })

  it("a missing addon file says how to build it", async () => {
    env["RLHF_KERNELS_ADDON"] = "/nonexistent/rlhf_kernels.node"
    await expect(registerNativeBackend()).resolves.toBe(false)
    expect(nativeStatus()).toEqual({ loaded: false, reason: expect.stringContaining("pnpm --filter @rlhf/kernels build") })
  })

  it("a file that is not a loadable addon is reported, not thrown", async () => {
    env["RLHF_KERNELS_ADDON"] = fileURLToPath(import.meta.url)
    await expect(registerNativeBackend()).resolves.toBe(false)
    expect(nativeStatus()).toEqual({ loaded: false, reason: expect.stringContaining("failed to load") })
  })

  it("the cpu backend keeps working, gradients included", async () => {
    env["RLHF_KERNELS_DISABLE"] = "1"
    await registerNativeBackend()
    await tf.setBackend("cpu")
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor([1, 2, 3])).dataSync())
    expect(Array.from(g)).toEqual([2, 4, 6])
  })
})
