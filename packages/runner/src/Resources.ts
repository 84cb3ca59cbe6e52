/**
 * The scheduler's resources: CPU slots and GPU devices. A node holds them while it computes.
 * One GPU stage runs per device at a time unless the stage declares `shareGpu`.
 */
import { Effect, type Scope, Semaphore } from "effect"

/** The slots and devices of one run. */
export interface ResourcePool {
  readonly cpuSlots: number
  readonly gpus: ReadonlyArray<number>
  /** Holds `cpu` slots (capped at the pool's size) for the scope. */
  readonly cpu: (n: number) => Effect.Effect<void, never, Scope.Scope>
  /** Holds a whole device for the scope and returns its index. */
  readonly gpu: () => Effect.Effect<number, never, Scope.Scope>
  /** A device to share, round robin, without holding it. */
  readonly sharedGpu: () => number
}

/**
 * A pool of `cpuSlots` CPU slots and the given GPU devices. `gpus` may be a function that finds
 * them: it is called when a stage first asks for a GPU (or for `gpus`), so a run that computes no
 * GPU stage (a cached rerun) never starts `nvidia-smi`.
 */
export const makePool = (cpuSlots: number, gpus: ReadonlyArray<number> | (() => ReadonlyArray<number>)): ResourcePool => {
  const cpu = Semaphore.makeUnsafe(cpuSlots)
  let found: { readonly list: ReadonlyArray<number>; readonly devices: Semaphore.Semaphore; readonly free: number[] } | undefined
  const inventory = () => {
    if (found === undefined) {
      const list = typeof gpus === "function" ? gpus() : gpus
      found = { list, devices: Semaphore.makeUnsafe(list.length), free: [...list] }
    }
    return found
  }
  let next = 0
  return {
    cpuSlots,
    get gpus() {
      return inventory().list
    },
    cpu: (n) => cpu.takeScoped(Math.max(1, Math.min(n, cpuSlots))),
    // A permit of `devices` guarantees that `free` holds a device when we pop it.
    gpu: () => {
      const { devices, free } = inventory()
      return Effect.acquireRelease(
        devices.take(1).pipe(Effect.map(() => free.shift()!)),
        (d) => Effect.sync(() => free.push(d)).pipe(Effect.andThen(devices.release(1)))
      )
    },
    sharedGpu: () => {
      const { list } = inventory()
      return list[next++ % list.length]!
    }
  }
}
