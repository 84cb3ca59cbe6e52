/**
 * Pooled, reused workers: processes for stages that train or run models, threads for pure
 * JavaScript CPU stages (see Stage.Isolation). A crash, an out-of-memory, a timeout or a failed
 * stage fails only the stage that was running; its worker is replaced. A GPU stage's process gets
 * `CUDA_VISIBLE_DEVICES` for its device, so processes are pooled per device.
 */
import type { ProgressUpdate } from "@rlhf/core"
import { Effect } from "effect"
import type { ExecuteResult } from "./ExecuteStage.ts"
import { startProcess, startThread, type WorkerCommand, workerCommand, type WorkerHandle } from "./WorkerHandle.ts"
import type { RunMessage, WorkerMessage } from "./WorkerProtocol.ts"

export { type WorkerCommand, workerCommand }

/** Where one node runs: a worker thread, or a worker process that sees `device`. */
export type Placement = { readonly tier: "thread" } | { readonly tier: "process"; readonly device: number | null }

/** A pool of workers, keyed by tier and the device they see. */
export class WorkerPool {
  private readonly idle: WorkerHandle[] = []
  private readonly live = new Set<WorkerHandle>()
  private nextId = 1

  constructor(private readonly command: WorkerCommand = workerCommand()) {}

  private take(placement: Placement): WorkerHandle {
    const device = placement.tier === "thread" || placement.device === null ? "cpu" : String(placement.device)
    const i = this.idle.findIndex((w) => w.tier === placement.tier && w.device === device && w.alive())
    if (i >= 0) return this.idle.splice(i, 1)[0]!
    const worker = placement.tier === "thread" ? startThread(this.command) : startProcess(this.command, device)
    this.live.add(worker)
    return worker
  }

  private kill(worker: WorkerHandle) {
    this.live.delete(worker)
    worker.kill()
  }

  /** Runs one node in a worker; fails with a message on crash or timeout; kills the worker if interrupted. */
  run(
    message: Omit<RunMessage, "type" | "id">,
    options: {
      readonly placement: Placement
      readonly timeoutMs?: number | undefined
      readonly onProgress: (u: ProgressUpdate) => void
      readonly onLog: (line: string) => void
    }
  ): Effect.Effect<ExecuteResult, Error> {
    return Effect.callback<ExecuteResult, Error>((resume) => {
      const worker = this.take(options.placement)
      const id = this.nextId++
      let settled = false
      const finish = (effect: Effect.Effect<ExecuteResult, Error>, reusable: boolean) => {
        if (settled) return
        settled = true
        if (timer !== undefined) clearTimeout(timer)
        stopListening()
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
        // half-initialised backend, leaked tensors): the next stage gets a fresh worker.
        else finish(Effect.fail(new Error(m.message)), false)
      }
      const stopListening = worker.listen(onMessage, (reason) => finish(Effect.fail(new Error(reason)), false))
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(
        () => finish(Effect.fail(new Error(`timed out after ${options.timeoutMs} ms; the worker ${worker.tier} was killed`)), false),
        options.timeoutMs
      )
      worker.send({ ...message, type: "run", id } satisfies RunMessage)
      return Effect.sync(() => finish(Effect.fail(new Error("interrupted")), false))
    })
  }

  /** Kills every worker still running (end of run, Ctrl-C); killing one that ended is a no-op. */
  shutdown() {
    for (const w of [...this.live]) this.kill(w)
    this.idle.length = 0
  }
}
