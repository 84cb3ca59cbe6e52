/**
 * Entry of a worker, process or thread: runs nodes sent by its runner, one at a time, until the
 * runner goes away. A process exits when its IPC channel closes (its runner exited or was
 * killed); a thread ends with its runner's process, or when the runner terminates it.
 */
import { parentPort } from "node:worker_threads"
import { Pipeline } from "@rlhf/core"
import { Cause, Effect, Exit } from "effect"
import { executeStage } from "./ExecuteStage.ts"
import { loadPipeline } from "./LoadPipeline.ts"
import { Store } from "./Store.ts"
import type { RunMessage, WorkerMessage } from "./WorkerProtocol.ts"

const send = (m: WorkerMessage) => parentPort === null ? process.send?.(m) : parentPort.postMessage(m)
const built = new Map<string, ReadonlyMap<string, Pipeline.BuiltNode>>()

// The runner has resolved (checked, ordered, decoded) the same pipeline: building it is enough to
// find a node's stage, and costs a fresh worker less than resolving it again.
const nodesOf = async (file: string, sets: ReadonlyArray<string>) => {
  const cacheKey = JSON.stringify([file, sets])
  const hit = built.get(cacheKey)
  if (hit !== undefined) return hit
  const nodes = Pipeline.buildNodesSync(await loadPipeline(file), sets)
  built.set(cacheKey, nodes)
  return nodes
}

const run = async (m: RunMessage) => {
  try {
    const node = (await nodesOf(m.pipeline, m.sets)).get(m.request.node)
    if (node === undefined) throw new Error(`node '${m.request.node}' is not in ${m.pipeline}`)
    // Params come from the runner, so an edit of the pipeline file mid-run cannot run other params under this key.
    const exit = await Effect.runPromiseExit(executeStage({ ...node, params: m.params }, m.request, new Store(m.storeDir), {
      progress: (update) => send({ type: "progress", id: m.id, update }),
      log: (line) => send({ type: "log", id: m.id, line })
    }))
    if (Exit.isSuccess(exit)) send({ type: "done", id: m.id, result: exit.value })
    else send({ type: "failed", id: m.id, message: String((Cause.squash(exit.cause) as Error).message ?? Cause.pretty(exit.cause)) })
  } catch (e) {
    send({ type: "failed", id: m.id, message: (e as Error).stack ?? String(e) })
  }
}

const receive = (m: RunMessage) => {
  if (m.type === "run") void run(m)
}
if (parentPort === null) {
  process.on("disconnect", () => process.exit(0))
  process.on("message", receive)
} else {
  parentPort.on("message", receive)
}
send({ type: "ready" })
