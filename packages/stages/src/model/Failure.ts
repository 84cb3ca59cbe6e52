/**
 * What model stages say when their code throws: the thrown message, and what to do about it.
 * Kept free of TensorFlow.js imports: stage modules load when a pipeline file does.
 */

/** The message of a thrown value. */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * The TensorFlow.js wasm backend aborts its WebAssembly runtime ("Aborted()", and nothing else)
 * (a WebAssembly.RuntimeError) when an allocation does not fit its 4 GiB of linear memory: a step's activations and their
 * gradients (the native and cpu backends use the process heap and have no such limit).
 */
const isWasmAbort = (e: unknown): boolean => e instanceof Error && e.name === "RuntimeError" && e.message.startsWith("Aborted(")

const wasmAbortFix =
  "The wasm backend ran out of its 4 GiB of WebAssembly memory: set the node's microBatch where it has one (rm-train: " +
  "gradient accumulation, the same step in smaller passes), or lower its batchSize (or forwardBatchSize / contextLength), " +
  "or build the native CPU path, which has no such limit: apt-get install libopenblas-dev && pnpm --filter @rlhf/kernels build"

/** The reason and fix for a thrown `e`; `fix` unless the failure has a known cause. */
export const describeFailure = (e: unknown, fix: string): { reason: string; fix: string } =>
  isWasmAbort(e) ? { reason: `${messageOf(e)} (WebAssembly out of memory)`, fix: wasmAbortFix } : { reason: messageOf(e), fix }
