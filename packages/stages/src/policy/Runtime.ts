/**
 * What every policy stage does first inside `run`: load TensorFlow.js and the heavy policy
 * modules lazily (so loading a pipeline file stays cheap), pick the tensor backend and record it
 * in lineage. Also: running the synchronous model code with its errors turned into PolicyError,
 * and throttled progress.
 */
import { Progress, StageInfo } from "@rlhf/core"
import type * as Nn from "@rlhf/nn"
import { Effect } from "effect"
import type * as DpoLoopModule from "./DpoLoop.ts"
import type * as EvalLoopModule from "./EvalLoop.ts"
import type * as ModelsModule from "./Models.ts"
import type * as ParallelStepsModule from "./ParallelSteps.ts"
import { describeFailure, messageOf } from "../model/Failure.ts"
import { PolicyError } from "./PolicyError.ts"
import type * as PpoLoopModule from "./PpoLoop.ts"
import type * as RolloutLoopModule from "./RolloutLoop.ts"

/** The lazily loaded modules. */
export interface Runtime {
  readonly nn: typeof Nn
  readonly models: typeof ModelsModule
  readonly rollout: typeof RolloutLoopModule
  readonly ppo: typeof PpoLoopModule
  readonly dpo: typeof DpoLoopModule
  readonly evals: typeof EvalLoopModule
  readonly parallel: typeof ParallelStepsModule
}

const loadModules = Effect.promise(async (): Promise<Runtime> => ({
  nn: await import("@rlhf/nn"),
  models: await import("./Models.ts"),
  rollout: await import("./RolloutLoop.ts"),
  ppo: await import("./PpoLoop.ts"),
  dpo: await import("./DpoLoop.ts"),
  evals: await import("./EvalLoop.ts"),
  parallel: await import("./ParallelSteps.ts")
}))

/** Loads the modules, resolves the tensor backend (GPU when the node was given one) and records it. */
export const loadRuntime: Effect.Effect<Runtime, PolicyError, StageInfo> = Effect.gen(function*() {
  const info = yield* StageInfo
  const rt = yield* loadModules
  const warnings: string[] = []
  const backend = yield* Effect.tryPromise({
    try: () => rt.nn.TensorBackend.resolveBackend({ gpu: info.device !== null, warn: (w) => warnings.push(w) }),
    catch: (e) => new PolicyError({ node: info.node, reason: `no TensorFlow.js backend loaded (${messageOf(e)})`, fix: "Unset RLHF_TF_BACKEND or install @tensorflow/tfjs-backend-cpu" })
  })
  for (const w of warnings) yield* Effect.logWarning(w)
  info.record("backend", `${backend.name} ${backend.version}`)
  return rt
})

/**
 * Runs synchronous model code; a thrown error becomes a PolicyError naming the node, with the
 * thrown message (which says what is wrong) and `fix`.
 */
export const attempt = <A>(node: string, body: () => A, fix = "Check the inputs and params named above"): Effect.Effect<A, PolicyError> =>
  Effect.try({ try: body, catch: (e) => new PolicyError({ node, ...describeFailure(e, fix) }) })

/** A progress callback that reports at most every 0.5 s (and always the last unit). */
export const throttled = (progress: Progress["Service"]) => {
  let last = 0
  return (done: number, total: number, info?: string): void => {
    const now = performance.now()
    if (done < total && now - last < 500) return
    last = now
    progress.update(info === undefined ? { done, total } : { done, total, info })
  }
}

/** The Progress service as a throttled callback. */
export const progressCallback = Progress.useSync(throttled)
