import * as tf from "@tensorflow/tfjs-core"
import { Effect, Layer, Logger } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"

// Each test gets a fresh module: the backend is resolved once per module instance (per process in use).
const fresh = async () => {
  vi.resetModules()
  return await import("../src/TensorBackend.ts")
}

afterEach(() => {
  delete process.env["RLHF_TF_BACKEND"]
})

describe("TensorBackend", () => {
  it("RLHF_TF_BACKEND forces a backend without a warning", async () => {
    for (const name of ["cpu", "wasm"]) {
      process.env["RLHF_TF_BACKEND"] = name
      const { resolveBackend } = await fresh()
      const warnings: string[] = []
      const info = await resolveBackend({ warn: (m) => warnings.push(m) })
      expect(info.name).toBe(name)
      expect(info.version).toBe("4.22.0")
      expect(tf.getBackend()).toBe(name)
      expect(warnings).toEqual([])
    }
  })

  it("a forced backend that cannot load, or an unknown name, is a clear error", async () => {
    process.env["RLHF_TF_BACKEND"] = "tensorflow" // tfjs-node is not installed in this repo
    await expect((await fresh()).resolveBackend()).rejects.toThrow(/RLHF_TF_BACKEND="tensorflow" was requested but that backend failed to load/)
    process.env["RLHF_TF_BACKEND"] = "gpu"
    await expect((await fresh()).resolveBackend()).rejects.toThrow(/not one of tensorflow, native, wasm, cpu/)
  })

  it("picks the best available backend once, warning once when it falls back to wasm or cpu", async () => {
    const { resolveBackend } = await fresh()
    const warnings: string[] = []
    const a = await resolveBackend({ warn: (m) => warnings.push(m) })
    const b = await resolveBackend({ warn: (m) => warnings.push(m) })
    expect(b).toBe(a)
    expect(tf.getBackend()).toBe(a.name)
    expect(["native", "wasm"]).toContain(a.name) // tfjs-node is absent; wasm always loads here
    if (a.name === "wasm") {
      expect(warnings.length).toBe(1)
      expect(warnings[0]).toMatch(/training is about 7x slower/)
      expect(warnings[0]).toContain("apt-get install libopenblas-dev && pnpm --filter @rlhf/kernels build")
    } else expect(warnings).toEqual([])
  })

  it("provides the service through a Layer and logs the warning through Effect", async () => {
    process.env["RLHF_TF_BACKEND"] = "" // empty = automatic
    const { TensorBackend } = await fresh()
    const logs: string[] = []
    const collector = Logger.make((o) => logs.push(`${o.logLevel}: ${String(o.message)}`))
    const program = Effect.gen(function* () {
      const backend = yield* TensorBackend
      return { name: backend.name, sum: backend.tf.tidy(() => backend.tf.add(1, 2).dataSync()[0]) }
    })
    const result = await Effect.runPromise(program.pipe(Effect.provide(TensorBackend.layer().pipe(Layer.provide(Logger.layer([collector]))))))
    expect(result.sum).toBe(3)
    if (result.name === "wasm") expect(logs.some((l) => /^warn/i.test(l) && l.includes("fast native path is missing"))).toBe(true)
  })

  it("the layer fails with a typed error naming the problem", async () => {
    process.env["RLHF_TF_BACKEND"] = "nope"
    const { TensorBackend } = await fresh()
    const exit = await Effect.runPromiseExit(Effect.provide(Effect.gen(function* () { return yield* TensorBackend }), TensorBackend.layer()))
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toMatch(/TensorBackendError/)
  })
})
