/**
 * Pooled, reused worker processes for stages that train or run models. A crash, an out-of-memory,
 * a timeout or a failed stage fails only the stage that was running; the worker is replaced. A GPU stage's worker
 * gets `CUDA_VISIBLE_DEVICES` for its device, so workers are pooled per device.
 */
import { type ChildProcess, fork } from "node:child_process"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import type { ProgressUpdate } from "@rlhf/core"
import { Effect } from "effect"
import type { ExecuteResult } from "./ExecuteStage.ts"
import type { RunMessage, WorkerMessage } from "./WorkerProtocol.ts"

/** How a worker process starts: the script to fork and the flags node gets. */
export interface WorkerCommand {
  readonly entry: string
  readonly execArgv: ReadonlyArray<string>
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
    return { entry: bundle, execArgv: [] }
  }
  // RLHF_TSX_LOADER: the launcher's tsx; in a bundle, import.meta.resolve is resolved at build time.
  const tsx = process.env["RLHF_TSX_LOADER"] ?? import.meta.resolve("tsx")
  return { entry: fileURLToPath(new URL("./WorkerMain.ts", import.meta.url)), execArgv: ["--import", tsx] }
}

interface Worker {
  readonly child: ChildProcess
  readonly device: string
  stderr: string
}

/** Why a worker process ended, in words a user can act on. */
const exitReason = (code: number | null, signal: NodeJS.Signals | null, stderr: string): string => {
  const oom = /heap out of memory|Allocation failed/.test(stderr) || signal === "SIGKILL" || code === 134
  const tail = stderr.trim().split("\n").slice(-5).join("\n")
  return `worker process exited (${signal ?? `code ${code}`})${oom ? ": out of memory? lower the batch size or raise NODE_OPTIONS=--max-old-space-size" : ""}${tail === "" ? "" : `\n${tail}`}`
}

/** A pool of worker processes, keyed by the device they see. */
export class WorkerPool {
  private readonly idle: Worker[] = []
  private readonly live = new Set<Worker>()
  private nextId = 1

  constructor(private readonly command: WorkerCommand = workerCommand()) {}

  private take(device: string): Worker {
    const i = this.idle.findIndex((w) => w.device === device && w.child.exitCode === null)
    if (i >= 0) return this.idle.splice(i, 1)[0]!
    const env = { ...process.env, ...(device === "cpu" ? {} : { CUDA_VISIBLE_DEVICES: device }) }
    const child = fork(this.command.entry, [], { execArgv: [...this.command.execArgv], env, stdio: ["ignore", "pipe", "pipe", "ipc"] })
    const worker: Worker = { child, device, stderr: "" }
    child.stderr?.on("data", (d: Buffer) => {
      worker.stderr = (worker.stderr + d.toString()).slice(-8000)
    })
    child.stdout?.on("data", () => {})
    this.live.add(worker)
    child.on("exit", () => this.live.delete(worker))
    return worker
  }

  private kill(worker: Worker) {
    this.live.delete(worker)
    if (worker.child.exitCode === null) worker.child.kill("SIGKILL")
  }

  /** Runs one node in a worker; fails with a message on crash or timeout; kills the worker if interrupted. */
  run(
    message: Omit<RunMessage, "type" | "id">,
    options: {
      readonly device: number | null
      readonly timeoutMs?: number | undefined
      readonly onProgress: (u: ProgressUpdate) => void
      readonly onLog: (line: string) => void
    }
  ): Effect.Effect<ExecuteResult, Error> {
    return Effect.callback<ExecuteResult, Error>((resume) => {
      const worker = this.take(options.device === null ? "cpu" : String(options.device))
      const id = this.nextId++
      let settled = false
      const finish = (effect: Effect.Effect<ExecuteResult, Error>, reusable: boolean) => {
        if (settled) return
        settled = true
        if (timer !== undefined) clearTimeout(timer)
        worker.child.off("message", onMessage)
        worker.child.off("exit", onExit)
        if (reusable) this.idle.push(worker)
        else this.kill(worker)
        resume(effect)
      }
      const onMessage = (m: WorkerMessage) => {
        if (m.type === "ready" || m.id !== id) return
        if (m.type === "progress") options.onProgress(m.update)
        else if (m.type === "log") options.onLog(m.line)
        else if (m.type === "done") finish(Effect.succeed(m.result), true)
        // A failed stage may leave its worker unusable (an aborted WebAssembly runtime, a
        // half-initialised backend, leaked tensors): the next stage gets a fresh process.
        else finish(Effect.fail(new Error(m.message)), false)
      }
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish(Effect.fail(new Error(exitReason(code, signal, worker.stderr))), false)
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(
        () => finish(Effect.fail(new Error(`timed out after ${options.timeoutMs} ms; the worker was killed`)), false),
        options.timeoutMs
      )
      worker.child.on("message", onMessage)
      worker.child.on("exit", onExit)
      worker.child.send({ ...message, type: "run", id } satisfies RunMessage)
      return Effect.sync(() => finish(Effect.fail(new Error("interrupted")), false))
    })
  }

  /** Kills every worker (end of run, Ctrl-C). */
  shutdown() {
    for (const w of [...this.live]) this.kill(w)
    this.idle.length = 0
  }
}
