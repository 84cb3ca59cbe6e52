/**
 * A started worker, process or thread, behind one small interface: send it a node to run, listen
 * to what it says, learn why it ended, kill it. WorkerPool pools these; WorkerMain is what runs
 * inside either kind.
 */
import { fork } from "node:child_process"
import * as fs from "node:fs"
import type { Readable } from "node:stream"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Worker as Thread } from "node:worker_threads"
import type { RunMessage, WorkerMessage } from "./WorkerProtocol.ts"

/** What a worker starts from. */
export interface WorkerCommand {
  /** The worker's entry: the launcher's worker bundle (CommonJS), or WorkerMain.ts. */
  readonly entry: string
  /** tsx's loader, when the entry is TypeScript source: a process imports it with `--import`. */
  readonly tsx?: string | undefined
  /** tsx's module API, when the entry is TypeScript source: a thread imports the entry through it. */
  readonly tsxApi?: string | undefined
}

/** A live worker. */
export interface WorkerHandle {
  readonly tier: "process" | "thread"
  /** The device it sees: "cpu" or a GPU index (processes only). */
  readonly device: string
  readonly alive: () => boolean
  readonly send: (m: RunMessage) => void
  /** Calls `onMessage` for each message and `onExit` once, with why, if it ends; returns a function that stops both. */
  readonly listen: (onMessage: (m: WorkerMessage) => void, onExit: (reason: string) => void) => () => void
  readonly kill: () => void
}

const TAIL = 8000

/** Keeps the last characters of a stream (stderr: the likeliest place for why a worker died). */
const tailOf = (stream: Readable | null | undefined) => {
  let tail = ""
  stream?.on("data", (d: Buffer) => {
    tail = (tail + d.toString()).slice(-TAIL)
  })
  return () => tail.trim().split("\n").slice(-5).join("\n")
}

const withTail = (reason: string, tail: string) => tail === "" ? reason : `${reason}\n${tail}`

/** Why a worker process ended, in words a user can act on. */
const processExitReason = (code: number | null, signal: NodeJS.Signals | null, stderr: string): string => {
  const oom = /heap out of memory|Allocation failed/.test(stderr) || signal === "SIGKILL" || code === 134
  const hint = oom ? ": out of memory? lower the batch size or raise NODE_OPTIONS=--max-old-space-size" : ""
  return withTail(`worker process exited (${signal ?? `code ${code}`})${hint}`, stderr)
}

/** Why a worker thread ended: the error that ended it (an uncaught exception, its heap limit) or its exit code. */
const threadExitReason = (code: number, error: (Error & { code?: string }) | undefined, stderr: string): string => {
  if (error?.code === "ERR_WORKER_OUT_OF_MEMORY") {
    return withTail("worker thread ran out of memory (JS heap): lower the batch size or raise NODE_OPTIONS=--max-old-space-size", stderr)
  }
  return withTail(error === undefined ? `worker thread exited (code ${code})` : `worker thread failed: ${error.message}`, stderr)
}

/** Starts a worker process that sees `device` (CUDA_VISIBLE_DEVICES for a GPU). */
export const startProcess = (command: WorkerCommand, device: string): WorkerHandle => {
  const env = { ...process.env, ...(device === "cpu" ? {} : { CUDA_VISIBLE_DEVICES: device }) }
  const execArgv = command.tsx === undefined ? [] : ["--import", command.tsx]
  const child = fork(command.entry, [], { execArgv, env, stdio: ["ignore", "pipe", "pipe", "ipc"] })
  const stderr = tailOf(child.stderr)
  child.stdout?.resume()
  return {
    tier: "process",
    device,
    alive: () => child.exitCode === null && child.signalCode === null,
    send: (m) => void child.send(m),
    listen: (onMessage, onExit) => {
      const exit = (code: number | null, signal: NodeJS.Signals | null) => onExit(processExitReason(code, signal, stderr()))
      child.on("message", onMessage)
      child.on("exit", exit)
      return () => {
        child.off("message", onMessage)
        child.off("exit", exit)
      }
    },
    kill: () => void (child.exitCode === null && child.kill("SIGKILL"))
  }
}

/**
 * The script a thread runs for a TypeScript entry. Node 20 does not apply `--import` hooks to a
 * worker thread's entry, so the thread loads the entry through tsx's module API instead.
 */
const tsxThreadScript = (entryFile: string, tsxApi: string) => {
  const entry = JSON.stringify(pathToFileURL(entryFile).href)
  return `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${entry}, ${entry}))`
}

/** Starts a worker thread in this process; it sees the CPU only. */
export const startThread = (command: WorkerCommand): WorkerHandle => {
  // No execArgv of this process (`--import tsx` under vitest or the benchmarks): a bundle needs no
  // loader, and sources are imported through tsx's API below; a loader would cost every thread.
  const options = { stdout: true, stderr: true, execArgv: [] as string[] }
  const thread = command.tsxApi === undefined
    ? new Thread(command.entry, options)
    : new Thread(tsxThreadScript(command.entry, command.tsxApi), { ...options, eval: true })
  const stderr = tailOf(thread.stderr)
  thread.stdout.resume()
  // The error that ended the thread comes before its exit; an "error" listener also keeps an
  // uncaught exception in the thread from becoming one in the runner.
  let error: Error | undefined
  let exited = false
  thread.on("error", (e) => (error = e))
  thread.on("exit", () => (exited = true))
  return {
    tier: "thread",
    device: "cpu",
    alive: () => !exited,
    send: (m) => thread.postMessage(m),
    listen: (onMessage, onExit) => {
      const exit = (code: number) => onExit(threadExitReason(code, error, stderr()))
      thread.on("message", onMessage)
      thread.on("exit", exit)
      return () => {
        thread.off("message", onMessage)
        thread.off("exit", exit)
      }
    },
    kill: () => void thread.terminate()
  }
}

/**
 * How workers of a run of `pipelineFile` start: from the launcher's worker bundle (WorkerMain and
 * the pipeline in one file, named by RLHF_WORKER_BUNDLE for the pipeline RLHF_WORKER_PIPELINE)
 * when there is one for this pipeline; otherwise WorkerMain.ts from the sources through tsx
 * (RLHF_NO_BUNDLE=1, tests and library use), which costs seconds of CPU a worker.
 */
export const workerCommand = (pipelineFile?: string): WorkerCommand => {
  const bundle = process.env["RLHF_WORKER_BUNDLE"]
  const forPipeline = process.env["RLHF_WORKER_PIPELINE"]
  if (bundle !== undefined && bundle !== "" && (pipelineFile === undefined || forPipeline === pipelineFile) && fs.existsSync(bundle)) {
    return { entry: bundle }
  }
  // RLHF_TSX_LOADER: the launcher's tsx; in a bundle, import.meta.resolve is resolved at build time.
  return {
    entry: fileURLToPath(new URL("./WorkerMain.ts", import.meta.url)),
    tsx: process.env["RLHF_TSX_LOADER"] ?? import.meta.resolve("tsx"),
    tsxApi: import.meta.resolve("tsx/esm/api")
  }
}
