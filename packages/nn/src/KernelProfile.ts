/**
 * Kernel-level profile of a computation: which tfjs kernels run, how often and for how long.
 * Used to decide what a native backend must implement first (see ops.ts for fused kernels).
 */
import * as tf from "@tensorflow/tfjs-core"

/** One kernel's totals over the profiled computation. */
export interface KernelStat {
  readonly name: string
  readonly calls: number
  readonly ms: number
  /** Fraction of the summed kernel time. */
  readonly share: number
}

/** Runs `f` under `tf.profile` and aggregates per kernel name, slowest first. */
export const profileKernels = async (f: () => tf.TensorContainer): Promise<ReadonlyArray<KernelStat>> => {
  const info = await tf.profile(() => f() as tf.TensorContainer)
  const totals = new Map<string, { calls: number; ms: number }>()
  for (const k of info.kernels) {
    // tf.customGrad wrappers show up as "unnamed scope"; their kernels are listed on their own.
    if (k.name === "unnamed scope") continue
    const t = totals.get(k.name) ?? { calls: 0, ms: 0 }
    const ms = await k.kernelTimeMs
    t.calls += 1
    t.ms += typeof ms === "number" ? ms : 0
    totals.set(k.name, t)
  }
  const all = [...totals.values()].reduce((s, t) => s + t.ms, 0) || 1
  return [...totals.entries()]
    .map(([name, t]) => ({ name, calls: t.calls, ms: t.ms, share: t.ms / all }))
    .sort((a, b) => b.ms - a.ms)
}

/** A fixed-width text table of a profile. */
export const formatProfile = (stats: ReadonlyArray<KernelStat>): string =>
  stats
    .map((s) => `${s.name.padEnd(28)} ${String(s.calls).padStart(6)} calls ${s.ms.toFixed(1).padStart(9)} ms ${(100 * s.share).toFixed(1).padStart(5)}%`)
    .join("\n")
