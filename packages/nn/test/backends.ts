/**
 * Test helper: the tfjs backends model tests run on. Default cpu, wasm and native (each when it loads;
 * native needs the addon built, and Fallback.test.ts covers its absence);
 * RLHF_TEST_BACKENDS=cpu,wasm overrides.
 */
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import * as wasm from "@tensorflow/tfjs-backend-wasm"
import { beforeAll } from "vitest"

wasm.setThreadsCount(1)
tf.env().set("PROD", true) // no "install tfjs-node" banner in test output

const tryBackend = async (name: string): Promise<boolean> => {
  if (name === "native") {
    const spec = "@rlhf/kernels"
    try {
      const mod = (await import(spec)) as { registerNativeBackend?: () => Promise<boolean> }
      if ((await mod.registerNativeBackend?.()) !== true) return false
    } catch {
      return false
    }
  }
  try {
    return await tf.setBackend(name)
  } catch {
    return false
  }
}

const wanted = (process.env["RLHF_TEST_BACKENDS"] ?? "cpu,wasm,native").split(",").map((s) => s.trim()).filter(Boolean)
const found: string[] = []
for (const name of wanted) if (await tryBackend(name)) found.push(name)
await tf.setBackend("cpu")

/** Backends that loaded, for `describe.each(availableBackends)`. */
export const availableBackends: ReadonlyArray<string> = found

/** Switches to `name` before the enclosing describe's tests. */
export const useBackend = (name: string): void => {
  beforeAll(async () => {
    if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`)
  })
}

/** Max absolute difference of two equal-length arrays. */
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}
