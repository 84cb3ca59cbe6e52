import { describe, expect, it } from "vitest"
import { describeFailure } from "../../src/model/Failure.ts"

// WebAssembly's error class (the project's TypeScript lib declares WebAssembly's types, not its values).
const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: new (message: string) => Error } }).WebAssembly

describe("describeFailure", () => {
  it("names WebAssembly's out-of-memory abort (the wasm backend's bare 'Aborted()') and says what to do", () => {
    // What TensorFlow.js's wasm backend throws when an allocation does not fit its memory (its Emscripten abort()).
    const abort = new RuntimeError("Aborted(). Build with -sASSERTIONS for more info.")
    const d = describeFailure(abort, "See the stage log")
    expect(d.reason).toMatch(/^Aborted\(\).*\(WebAssembly out of memory\)$/)
    expect(d.fix).toMatch(/batchSize/)
    expect(d.fix).toMatch(/apt-get install libopenblas-dev && pnpm --filter @rlhf\/kernels build/)
  })

  it("keeps the message and the given fix for anything else, a WebAssembly trap included", () => {
    expect(describeFailure(new Error("dModel 30 is not divisible by nHeads 4"), "Set nHeads")).toEqual({ reason: "dModel 30 is not divisible by nHeads 4", fix: "Set nHeads" })
    expect(describeFailure(new RuntimeError("unreachable"), "x")).toEqual({ reason: "unreachable", fix: "x" })
    expect(describeFailure("a string", "y")).toEqual({ reason: "a string", fix: "y" })
  })
})
