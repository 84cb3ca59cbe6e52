/**
 * The worker boundary: the messages between a runner and a worker (a process or a thread) that
 * runs one stage of a pipeline file against a store. It is deliberately small — a pipeline path, `--set` overrides,
 * a node id and its resolved input hashes in; output hashes and lineage out — so that a later
 * distributed executor can ship the same messages to workers on other machines sharing the store.
 */
import type { ProgressUpdate } from "@rlhf/core"
import type { ExecuteRequest, ExecuteResult } from "./ExecuteStage.ts"

/** Runner → worker: run one node. */
export interface RunMessage {
  readonly type: "run"
  readonly id: number
  readonly pipeline: string
  readonly sets: ReadonlyArray<string>
  readonly storeDir: string
  /** The node's params as the runner resolved and keyed them: the worker runs with exactly these. */
  readonly params: unknown
  readonly request: ExecuteRequest
}

/** Worker → runner. */
export type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "progress"; readonly id: number; readonly update: ProgressUpdate }
  | { readonly type: "log"; readonly id: number; readonly line: string }
  | { readonly type: "done"; readonly id: number; readonly result: ExecuteResult }
  | { readonly type: "failed"; readonly id: number; readonly message: string }
