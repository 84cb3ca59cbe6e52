/**
 * A worker thread that its parent calls synchronously. A request goes out on a MessagePort; the
 * parent sleeps in Atomics.wait until the worker signals, then takes the answer with
 * receiveMessageOnPort. Training loops stay plain synchronous code while the work runs on other
 * cores, and the parent never needs its event loop to hear back.
 *
 * The worker runs a TypeScript module through tsx's CommonJS hooks: Node 20 applies ES module
 * loader hooks (tsx's `--import`) to neither worker threads nor their eval'd code, while
 * require() hooks work in any thread (and require(esm) loads ES-module-only packages).
 *
 * Failure is always noticed: a request that throws answers with its error; a worker that exits or
 * dies (uncaught error, process.exit) raises a flag in shared memory that the parent checks every
 * wait slice, so the parent throws a clear error instead of waiting forever.
 */
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Transferable, Worker, workerData } from "node:worker_threads"

// Shared Int32 slots: a counter the worker bumps on every event (answer or exit), whether it has
// exited, and its exit code.
const SIGNAL = 0, EXITED = 1, CODE = 2

/** An answer as the worker sends it. */
type Answer = { readonly seq: number; readonly ok: true; readonly value: unknown } | { readonly seq: number; readonly ok: false; readonly message: string; readonly stack: string }

/** What a worker-side handler returns: a value and the buffers to transfer rather than copy. */
export interface Reply {
  readonly value: unknown
  readonly transfer?: ReadonlyArray<Transferable>
}

/** The parent's handle on a worker. */
export interface SyncWorker {
  /** Name used in error messages, e.g. "data-parallel worker 2 of 4". */
  readonly name: string
  /** Sends a request without waiting (at most one may be outstanding). */
  readonly post: (request: unknown, transfer?: ReadonlyArray<Transferable>) => void
  /**
   * Blocks until the outstanding request's answer arrives and returns its value; throws the
   * worker's error, or after `timeoutMs` (default: wait as long as the worker lives).
   */
  readonly wait: (timeoutMs?: number) => unknown
  /** post + wait. */
  readonly call: (request: unknown, transfer?: ReadonlyArray<Transferable>, timeoutMs?: number) => unknown
  /** Stops the thread (idempotent; later calls throw); the promise settles once it has exited. */
  readonly terminate: () => Promise<void>
}

/** A worker error, with the worker's stack kept as `workerStack`. */
export class WorkerError extends Error {
  constructor(message: string, readonly workerStack: string) {
    super(message)
    this.name = "WorkerError"
  }
}

// The worker's first code (CommonJS, eval'd): raise the exit flag whatever ends the thread, turn
// an uncaught error into an answer, install tsx's require hooks, then load the entry module.
const BOOT = `
const { workerData } = require("node:worker_threads")
const { flags, port, tsx, entry } = workerData.__sync
const signal = () => (Atomics.add(flags, ${SIGNAL}, 1), Atomics.notify(flags, ${SIGNAL}))
process.on("exit", (code) => (Atomics.store(flags, ${CODE}, code), Atomics.store(flags, ${EXITED}, 1), signal()))
process.on("uncaughtException", (e) => {
  port.postMessage({ seq: -1, ok: false, message: "uncaught: " + (e && e.message || String(e)), stack: String(e && e.stack || e) })
  signal()
  process.exit(70)
})
require(tsx).register()
require(entry)
`

const tsxCjsApi = (): string => createRequire(import.meta.url).resolve("tsx/cjs/api")

/**
 * Starts a worker thread running the TypeScript module `entry` (a file URL or path), which must
 * call {@link serve}. `data` reaches it as {@link workerInput}.
 */
export const spawn = (entry: string | URL, data: unknown, name: string): SyncWorker => {
  const flags = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT))
  const { port1, port2 } = new MessageChannel()
  const file = typeof entry === "string" && !entry.startsWith("file:") ? entry : fileURLToPath(entry)
  const worker = new Worker(BOOT, {
    eval: true,
    name,
    workerData: { __sync: { flags, port: port2, tsx: tsxCjsApi(), entry: file }, data },
    transferList: [port2]
  })
  // The parent blocks on the flags, never on its event loop: nothing here may keep the process alive.
  worker.unref()
  worker.on("error", () => undefined) // reported through the flags and the port, not as an event
  let seq = 0, outstanding = false, terminated: Promise<void> | undefined

  const post = (request: unknown, transfer: ReadonlyArray<Transferable> = []) => {
    if (terminated !== undefined) throw new Error(`${name} was terminated`)
    if (outstanding) throw new Error(`${name} already has a request in flight`)
    outstanding = true
    port1.postMessage({ seq: ++seq, body: request }, [...transfer])
  }

  const settle = (answer: Answer): unknown => {
    outstanding = false
    if (answer.ok) return answer.value
    throw new WorkerError(`${name} failed: ${answer.message}`, answer.stack)
  }

  const wait = (timeoutMs?: number): unknown => {
    if (!outstanding) throw new Error(`${name}: no request in flight`)
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs
    for (;;) {
      const seen = Atomics.load(flags, SIGNAL)
      const got = receiveMessageOnPort(port1) as { message: Answer } | undefined
      if (got !== undefined) return settle(got.message)
      if (Atomics.load(flags, EXITED) === 1) {
        outstanding = false
        throw new WorkerError(`${name} exited (code ${Atomics.load(flags, CODE)}) before answering`, "")
      }
      if (performance.now() > deadline) {
        outstanding = false
        throw new WorkerError(`${name} gave no answer within ${timeoutMs} ms`, "")
      }
      Atomics.wait(flags, SIGNAL, seen, 200)
    }
  }

  const terminate = () => {
    if (terminated === undefined) {
      port1.close()
      terminated = worker.terminate().then(() => undefined)
    }
    return terminated
  }

  return { name, post, wait, call: (request, transfer, timeoutMs) => (post(request, transfer), wait(timeoutMs)), terminate }
}

/** Inside a worker: the `data` given to {@link spawn}. */
export const workerInput = <A>(): A => (workerData as { data: A }).data

/**
 * Inside a worker: answers each request with `handle` (which may be async). A thrown error goes
 * back to the parent, which throws it; the worker stays usable.
 */
export const serve = (handle: (request: unknown) => Reply | Promise<Reply>): void => {
  const { flags, port } = (workerData as { __sync: { flags: Int32Array; port: MessagePort } }).__sync
  const signal = () => (Atomics.add(flags, SIGNAL, 1), Atomics.notify(flags, SIGNAL))
  port.on("message", async ({ seq, body }: { seq: number; body: unknown }) => {
    try {
      const reply = await handle(body)
      port.postMessage({ seq, ok: true, value: reply.value } satisfies Answer, [...(reply.transfer ?? [])])
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e))
      port.postMessage({ seq, ok: false, message: error.message, stack: error.stack ?? error.message } satisfies Answer)
    }
    signal()
  })
}
