/**
 * Chooses the TensorFlow.js backend once per process.
 *
 * `RLHF_TF_BACKEND` (tensorflow | native | wasm | cpu) forces one; otherwise the first that loads of:
 * tfjs-node-gpu (only with `gpu` and CUDA_VISIBLE_DEVICES set) -> tfjs-node -> native
 * (@rlhf/kernels) -> wasm (SIMD, 1 thread) -> cpu. Optional packages that are not installed are
 * skipped silently; falling back to wasm or cpu logs one warning saying how to get the fast path.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Context, Effect, Layer, Schema } from "effect"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"

/** The backend in use. */
export interface BackendInfo {
  readonly name: string
  readonly version: string
}

/** Options of {@link resolveBackend}. */
export interface ResolveOptions {
  readonly gpu?: boolean
  /** Where the fallback warning goes (default console.warn). */
  readonly warn?: (message: string) => void
}

/** Names accepted by RLHF_TF_BACKEND. */
export const BACKEND_NAMES = ["tensorflow", "native", "wasm", "cpu"] as const
type Choice = (typeof BACKEND_NAMES)[number]

// Literal specifiers, so that a bundler (the rlhf launcher's) sees them: it bundles @rlhf/kernels
// (TypeScript source) and points at the installed TensorFlow.js packages by absolute path, where a
// variable specifier would be resolved by Node from the bundle's directory and not be found.
// `as string` keeps TypeScript from resolving them (tfjs-node is optional and usually absent).
const OPTIONAL: Readonly<Record<string, () => Promise<unknown>>> = {
  "@tensorflow/tfjs-node": () => import("@tensorflow/tfjs-node" as string),
  "@tensorflow/tfjs-node-gpu": () => import("@tensorflow/tfjs-node-gpu" as string),
  "@rlhf/kernels": () => import("@rlhf/kernels" as string),
  "@tensorflow/tfjs-backend-wasm": () => import("@tensorflow/tfjs-backend-wasm" as string),
  "@tensorflow/tfjs-backend-cpu": () => import("@tensorflow/tfjs-backend-cpu" as string)
}

// Under pnpm an optional package that @rlhf/nn does not depend on (e.g. @tensorflow/tfjs-node) is only
// reachable from the application, so resolution from the working directory is tried second.
const optionalImport = async (specifier: string): Promise<Record<string, unknown> | undefined> => {
  try {
    return (await (OPTIONAL[specifier] ?? (() => import(specifier)))()) as Record<string, unknown>
  } catch {
    try {
      const resolved = createRequire(pathToFileURL(`${process.cwd()}/`).href).resolve(specifier)
      return (await import(pathToFileURL(resolved).href)) as Record<string, unknown>
    } catch {
      return undefined
    }
  }
}

const use = async (name: string): Promise<boolean> => {
  try {
    return tf.findBackend(name) !== null || tf.findBackendFactory(name) !== null ? await tf.setBackend(name) : false
  } catch {
    return false
  }
}

const tryTensorflow = async (gpu: boolean): Promise<BackendInfo | undefined> => {
  const packages = gpu && process.env["CUDA_VISIBLE_DEVICES"] ? ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] : ["@tensorflow/tfjs-node"]
  for (const pkg of packages) {
    const mod = await optionalImport(pkg)
    if (mod !== undefined && (await use("tensorflow"))) {
      const versions = (mod["version"] ?? {}) as Record<string, string>
      return { name: "tensorflow", version: versions[pkg.slice("@tensorflow/".length)] ?? tf.version_core }
    }
  }
  return undefined
}

const tryNative = async (): Promise<BackendInfo | undefined> => {
  const mod = await optionalImport("@rlhf/kernels")
  const register = mod?.["registerNativeBackend"]
  if (typeof register !== "function") return undefined
  try {
    if ((await register()) !== true || !(await use("native"))) return undefined
  } catch {
    return undefined
  }
  return { name: "native", version: typeof mod?.["version"] === "string" ? (mod["version"] as string) : "unknown" }
}

const tryWasm = async (): Promise<BackendInfo | undefined> => {
  const mod = await optionalImport("@tensorflow/tfjs-backend-wasm")
  if (mod === undefined) return undefined
  // One thread: the machines are small and shared; SIMD is picked automatically when supported.
  if (tf.findBackend("wasm") === null) (mod["setThreadsCount"] as (n: number) => void)(1)
  return (await use("wasm")) ? { name: "wasm", version: String(mod["version_wasm"]) } : undefined
}

const tryCpu = async (): Promise<BackendInfo | undefined> => {
  const mod = await optionalImport("@tensorflow/tfjs-backend-cpu")
  if (mod === undefined || !(await use("cpu"))) return undefined
  tf.env().set("PROD", true) // silences tfjs's "install tfjs-node" banner: our warning says what to do
  return { name: "cpu", version: String(mod["version_cpu"]) }
}

const attempt = (choice: Choice, gpu: boolean): Promise<BackendInfo | undefined> =>
  choice === "tensorflow" ? tryTensorflow(gpu) : choice === "native" ? tryNative() : choice === "wasm" ? tryWasm() : tryCpu()

/** The warning logged when training falls back to a slow backend. */
export const fallbackWarning = (name: string): string =>
  `RLHF: using the slow "${name}" TensorFlow.js backend because the fast native path is missing ` +
  `(neither @tensorflow/tfjs-node nor the @rlhf/kernels native backend loaded). ` +
  `On wasm, training is about 7x slower and sampling about 13x slower than on the native backend (cpu: slower still). ` +
  `To get it: apt-get install libopenblas-dev && pnpm --filter @rlhf/kernels build`

const resolveUncached = async (options: ResolveOptions): Promise<BackendInfo> => {
  const forced = process.env["RLHF_TF_BACKEND"]
  if (forced !== undefined && forced !== "") {
    if (!(BACKEND_NAMES as ReadonlyArray<string>).includes(forced)) {
      throw new Error(`RLHF_TF_BACKEND="${forced}" is not one of ${BACKEND_NAMES.join(", ")}`)
    }
    const info = await attempt(forced as Choice, options.gpu ?? false)
    if (info === undefined) throw new Error(`RLHF_TF_BACKEND="${forced}" was requested but that backend failed to load; unset it to pick one automatically`)
    return info
  }
  for (const choice of BACKEND_NAMES) {
    const info = await attempt(choice, options.gpu ?? false)
    if (info === undefined) continue
    if (choice === "wasm" || choice === "cpu") (options.warn ?? console.warn)(fallbackWarning(choice))
    return info
  }
  throw new Error("No TensorFlow.js backend could be loaded (not even cpu); is @tensorflow/tfjs-backend-cpu installed?")
}

let resolved: Promise<BackendInfo> | undefined

/** Picks and activates the backend; later calls return the first call's result. */
export const resolveBackend = (options: ResolveOptions = {}): Promise<BackendInfo> => {
  resolved ??= resolveUncached(options).catch((e: unknown) => {
    resolved = undefined // let a later call retry (e.g. after fixing RLHF_TF_BACKEND)
    throw e
  })
  return resolved
}

/** The backend could not be set up. */
export class TensorBackendError extends Schema.TaggedError<TensorBackendError>()("TensorBackendError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `TensorFlow.js backend setup failed: ${this.reason}`
  }
}

/** The active TensorFlow.js backend and the tfjs-core API to use with it. */
export class TensorBackend extends Context.Service<TensorBackend, {
  readonly name: string
  readonly version: string
  readonly tf: typeof tf
}>()("@rlhf/nn/TensorBackend") {
  /** Resolves the backend (once per process) and logs the fallback warning through Effect. */
  static layer(options: { gpu?: boolean } = {}): Layer.Layer<TensorBackend, TensorBackendError> {
    return Layer.effect(
      TensorBackend,
      Effect.gen(function* () {
        const warnings: string[] = []
        const info = yield* Effect.tryPromise({
          try: () => resolveBackend({ ...options, warn: (m) => warnings.push(m) }),
          catch: (e) => new TensorBackendError({ reason: e instanceof Error ? e.message : String(e) })
        })
        for (const w of warnings) yield* Effect.logWarning(w)
        return { name: info.name, version: info.version, tf }
      })
    )
  }
}
