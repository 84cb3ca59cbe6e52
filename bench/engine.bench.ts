/**
 * The engine benchmark: planning a 10k-node DAG, a fully cached CLI rerun, content hashing, Arrow
 * IPC, and the parallel speed-up of two CPU-bound worker stages.
 *
 *   pnpm bench:engine
 *
 * Prints human-readable lines, each measurement beside its target, and as its last line one JSON
 * object: {"plan_10k_ms","cached_rerun_ms","hash_mb_s","ipc_write_mb_s","ipc_read_mb_s","parallel_speedup"}.
 * MB is 10^6 bytes. Scratch stores go under .bench/ (git-ignored) and are removed at the end.
 * The machine is usually shared: the load average is printed at the start, between sections and
 * at the end, so noisy figures can be read in context.
 */
import { spawnSync } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Columns, Pipeline, Table } from "../packages/core/src/index.ts"
import { codeFingerprint, fingerprinter } from "../packages/runner/src/CodeFingerprint.ts"
import { hashBytes } from "../packages/runner/src/Hash.ts"
import { loadPipeline } from "../packages/runner/src/LoadPipeline.ts"
import { plan } from "../packages/runner/src/Plan.ts"
import { silentReporter } from "../packages/runner/src/Reporter.ts"
import * as Runner from "../packages/runner/src/Runner.ts"
import { Store } from "../packages/runner/src/Store.ts"
import { bundles } from "../packages/runner/bin/Bundle.mjs"
import { burn, epochMs } from "./fixtures/Burn.ts"
import { Effect, Schema } from "./fixtures/Deps.ts"
import { layeredDag } from "./fixtures/Synthetic.ts"
import { median } from "./BenchArgs.ts"

const repoRoot = path.resolve(import.meta.dirname, "..")
const scratchRoot = path.join(repoRoot, ".bench", `engine-${process.pid}`)
const MB = 1e6

// ---------------------------------------------------------------- helpers

/** Wall milliseconds one call of `fn` takes, this process's CPU milliseconds (user + system), and its result. */
const timed = <A>(fn: () => A): { ms: number; cpuMs: number; value: A } => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const value = fn()
  const ms = performance.now() - t0
  const c = process.cpuUsage(c0)
  return { ms, cpuMs: (c.user + c.system) / 1000, value }
}

const fmt = (x: number, digits = 1) => x.toFixed(digits)

/** One result line: name, figure, and the target it is held to (if any). */
const report = (name: string, figure: string, target?: { text: string; met: boolean }) => {
  const verdict = target === undefined ? "" : `   target ${target.text}: ${target.met ? "met" : "MISSED"}`
  console.log(`  ${name.padEnd(52)} ${figure.padStart(14)}${verdict}`)
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(", ")

const section = (title: string) => console.log(`\n== ${title}   (load average ${load()})`)

/** A fresh, empty directory under the scratch root. */
const scratch = (name: string): string => {
  const dir = path.join(scratchRoot, `${name}-${Math.random().toString(36).slice(2, 8)}`)
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

// ---------------------------------------------------------------- machine

const printMachine = () => {
  const cpus = os.cpus()
  console.log("engine benchmark")
  console.log(`  cpu      ${cpus[0]?.model ?? "unknown"} × ${cpus.length} (available parallelism ${os.availableParallelism()})`)
  console.log(`  memory   ${fmt(os.totalmem() / 2 ** 30)} GiB total, ${fmt(os.freemem() / 2 ** 30)} GiB free`)
  console.log(`  node     ${process.version} on ${os.platform()} ${os.release()}`)
  console.log(`  load     ${load()} (1, 5, 15 min) — figures are noisy when this exceeds the core count`)
}

// ---------------------------------------------------------------- plan 10k

/**
 * Resolve (build, param decoding, graph checks, topological order) and plan (cache keys and store
 * lookups) a 10,000-node layered DAG against an empty store, median of 3. Every run builds the
 * pipeline anew; the engine's per-process memo of file hashes (code fingerprints) is warm after
 * the first run, as in a long-lived process, so each run is printed. Then the code fingerprints
 * alone (one per node, through one fingerprinter, as `plan` asks for them) are timed, beside the
 * cost of one uncached walk of a stage's files, to show where the plan's time goes. On a loaded
 * machine wall times stretch; the CPU median (resolve + plan) is printed for comparison.
 */
const benchPlan = (): number => {
  section("plan: resolve + plan a synthetic DAG of 10,000 nodes against an empty store")
  const pipeline = layeredDag(10_000, 100)
  const store = new Store(scratch("plan-store"))
  const totals: number[] = []
  const cpus: number[] = []
  for (let run = 1; run <= 3; run++) {
    const resolve = timed(() => Pipeline.resolveSync(pipeline))
    const planned = timed(() => plan(resolve.value, store, { cwd: repoRoot, seed: 0 }))
    const stale = planned.value.filter((n) => n.status === "stale").length
    if (resolve.value.nodes.length !== 10_000 || stale !== 10_000) {
      throw new Error(`expected 10000 nodes, all stale; got ${resolve.value.nodes.length} nodes, ${stale} stale`)
    }
    totals.push(resolve.ms + planned.ms)
    cpus.push(resolve.cpuMs + planned.cpuMs)
    console.log(`  run ${run}: resolve ${fmt(resolve.ms)} ms + plan ${fmt(planned.ms)} ms = ${fmt(resolve.ms + planned.ms)} ms ` +
      `(CPU ${fmt(resolve.cpuMs, 0)} + ${fmt(planned.cpuMs, 0)} ms)`)
  }
  const stageModule = Pipeline.resolveSync(pipeline).nodes[0]!.stage.module
  // As plan asks for them: one fingerprinter for the plan, so each stage's files are walked once.
  const memoised = timed(() => {
    const fingerprint = fingerprinter()
    for (let i = 0; i < 10_000; i++) fingerprint(stageModule)
  })
  report(`10,000 code fingerprints, one fingerprinter (${Object.keys(codeFingerprint(stageModule)).length} files each)`, `${fmt(memoised.ms)} ms`)
  report("  CPU of those", `${fmt(memoised.cpuMs)} ms`)
  // For context: what walking the files for every node would cost.
  const walks = timed(() => {
    for (let i = 0; i < 1_000; i++) codeFingerprint(stageModule)
  })
  report("  one walk of the files (codeFingerprint), CPU mean of 1,000", `${fmt(walks.cpuMs / 1_000, 3)} ms`)
  report("plan CPU, resolve + plan (median of 3)", `${fmt(median(cpus), 0)} ms`)
  const result = median(totals)
  report("plan_10k_ms (median of 3)", `${fmt(result)} ms`, { text: "< 1000 ms", met: result < 1000 })
  return result
}

// ---------------------------------------------------------------- cached rerun

/** The `rlhf` launcher, as `pnpm rlhf` runs it (it bundles the CLI with the pipeline, see its header). */
const bin = path.join(repoRoot, "packages/runner/bin/rlhf.mjs")

/** Wall milliseconds of a child process (start-up included); throws on a non-zero exit. */
const spawnMs = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env): { ms: number; stdout: string } => {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { cwd: repoRoot, env, encoding: "utf8", timeout: 120_000 })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`)
  return { ms, stdout: r.stdout }
}

const medianSpawn = (args: ReadonlyArray<string>, n: number, env?: NodeJS.ProcessEnv) =>
  median(Array.from({ length: n }, () => spawnMs(args, env).ms))

/**
 * Median CPU milliseconds (user + system) of a child process over `n` runs, read from bash's
 * `times`; steadier than wall time on a shared machine. Undefined where bash is missing.
 */
const medianChildCpu = (args: ReadonlyArray<string>, n: number, env: NodeJS.ProcessEnv = process.env): number | undefined => {
  const runs: number[] = []
  for (let i = 0; i < n; i++) {
    const r = spawnSync("bash", ["-c", `"$0" "$@" >/dev/null 2>&1; times`, process.execPath, ...args], { cwd: repoRoot, env, encoding: "utf8", timeout: 120_000 })
    // `times` prints the shell's user/system time, then its children's: "0m0.390s 0m0.120s".
    const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(r.stdout?.trim().split("\n")[1] ?? "")
    if (r.status !== 0 || m === null) return undefined
    runs.push((Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000)
  }
  return median(runs)
}

const cpuText = (ms: number | undefined) => (ms === undefined ? "n/a" : `${fmt(ms, 0)} ms`)

/** Times `n` fully cached reruns (median), after one run that fills the store (and the launcher's bundle). */
const cachedReruns = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, label: string, n: number): number => {
  const fill = spawnMs(args, env)
  report(`${label}: first run (fills the store)`, `${fmt(fill.ms)} ms`)
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const r = spawnMs(args, env)
    const lines = r.stdout.trim().split("\n")
    if (lines.length === 0 || !lines.every((l) => l.startsWith("cached"))) throw new Error(`rerun ${i + 1} was not fully cached:\n${r.stdout}`)
    times.push(r.ms)
  }
  console.log(`  ${label}: reruns ${times.map((t) => fmt(t, 0)).join(", ")} ms (${fill.stdout.trim().split("\n").length} nodes, all cached)`)
  return median(times)
}

/**
 * A fully cached rerun of the wordcount example through the real CLI as a new process, process
 * start included: `node packages/runner/bin/rlhf.mjs run pipelines/examples/wordcount.ts` (what
 * `pnpm rlhf` runs) with RLHF_STORE at a fresh store; one run fills it, N=5 reruns are timed
 * (median).
 * For context: bare node start-up, node with the tsx loader, the launcher without a pipeline
 * (`--help`), and the same rerun from the TypeScript sources through tsx (RLHF_NO_BUNDLE=1, as
 * the former `node --import tsx packages/runner/src/bin.ts` ran it; 3 reruns, as each takes seconds).
 * CPU times (user + sys) follow, as they are steadier than wall times on a shared machine.
 */
const benchCachedRerun = (): number => {
  section("cached rerun: `rlhf run pipelines/examples/wordcount.ts` as a new process, store filled")
  report("node -e \"\" (median of 5)", `${fmt(medianSpawn(["-e", ""], 5))} ms`)
  report("node --import tsx -e \"\" (median of 5)", `${fmt(medianSpawn(["--import", "tsx", "-e", ""], 5))} ms`)
  spawnMs([bin, "--help"]) // builds the launcher's CLI-only bundle if it is stale
  report("rlhf --help: launcher + CLI (median of 5)", `${fmt(medianSpawn([bin, "--help"], 5))} ms`)
  const args = [bin, "run", "pipelines/examples/wordcount.ts"]
  const sources = cachedReruns(args, { ...process.env, RLHF_STORE: scratch("wordcount-tsx"), RLHF_NO_BUNDLE: "1" }, "from sources (RLHF_NO_BUNDLE=1)", 3)
  report("from sources (RLHF_NO_BUNDLE=1), median of 3", `${fmt(sources)} ms`)
  const env = { ...process.env, RLHF_STORE: scratch("wordcount-store") }
  const result = cachedReruns(args, env, "launcher", 5)
  report("cached_rerun_ms: launcher (median of 5)", `${fmt(result)} ms`, { text: "< 500 ms", met: result < 500 })
  report("  CPU of a cached rerun, user + sys (median of 3)", cpuText(medianChildCpu(args, 3, env)))
  report("  CPU of rlhf --help, user + sys (median of 3)", cpuText(medianChildCpu([bin, "--help"], 3)))
  report("  CPU of node -e \"\", user + sys (median of 3)", cpuText(medianChildCpu(["-e", ""], 3)))
  return result
}

// ---------------------------------------------------------------- hashing

/** XXH3-128 throughput of `Hash.hashBytes` on 64 MiB of random bytes, best of 5. */
const benchHash = (): number => {
  section("hash: XXH3-128 (Hash.hashBytes) of a 64 MiB buffer")
  const bytes = crypto.randomFillSync(new Uint8Array(64 * 2 ** 20))
  const best = Math.min(...Array.from({ length: 5 }, () => timed(() => hashBytes(bytes)).ms))
  const result = bytes.byteLength / MB / (best / 1000)
  report("hash_mb_s (best of 5)", `${fmt(result, 0)} MB/s`, { text: "> 1000 MB/s", met: result > 1000 })
  return result
}

// ---------------------------------------------------------------- Arrow IPC

const IpcRow = Schema.Struct({ score: Columns.Float32, id: Columns.Int32, text: Columns.Utf8, emb: Columns.Vector(8) })

/**
 * 2^20 rows of float32, int32, a 20-character utf8 and a Vector(8): 4 + 4 + (20 + 4 offset) + 32
 * = 64 bytes a row, 64 MiB of column data. Built as one batch of 2^16 rows repeated 16 times
 * (16 record batches): building 2^20 rows with `Table.fromColumns` takes 7–30 s on a loaded
 * 2-core machine, and IPC writes and reads batch by batch anyway.
 */
const bigTable = () => {
  const rows = 2 ** 16
  const score = new Float32Array(rows)
  const id = new Int32Array(rows)
  const text = new Array<string>(rows)
  const emb = new Float32Array(rows * 8)
  for (let i = 0; i < rows; i++) {
    score[i] = i / rows
    id[i] = i
    text[i] = `row-${i.toString(36).padStart(8, "0")}-lorem12` // 20 characters
  }
  for (let i = 0; i < emb.length; i++) emb[i] = Math.sin(i)
  const vectors = Array.from({ length: rows }, (_, i) => emb.subarray(i * 8, i * 8 + 8))
  const batch = Table.fromColumns(IpcRow, { score, id, text, emb: vectors }).arrow
  return Effect.runSync(Table.fromArrow(IpcRow, batch.concat(...Array.from({ length: 15 }, () => batch))))
}

/** Best-of-5 milliseconds of `fn`, with `before` run untimed ahead of each call. */
const best5 = (fn: () => unknown, before: () => void = () => {}) =>
  Math.min(...Array.from({ length: 5 }, () => {
    before()
    return timed(fn).ms
  }))

/**
 * Arrow IPC write and read, MB/s by the IPC byte size, best of 5.
 * Write (`ipc_write_mb_s`): a table → a stored object, as a stage's output is stored
 * (`Store.putTable`: serialise, assemble in the store's reused buffer, hash, write, rename; the
 * object is deleted before each call so it is really written). The first call of the process, which
 * touches that buffer for the first time, is printed beside it, as are `Table.toIPC` alone and
 * `putObject` of ready bytes. Read (`ipc_read_mb_s`): `Table.fromIPC`, parse plus the schema check,
 * no rows materialised; `getObject` (read and verify the hash) for context.
 */
const benchIpc = (): { write: number; read: number } => {
  section("Arrow IPC: a table of 2^20 rows (float32, int32, utf8 ×20, Vector(8)) in 16 batches")
  const built = timed(bigTable)
  const table = built.value
  const bytes = Table.toIPC(table)
  const size = bytes.byteLength / MB
  console.log(`  built in ${fmt(built.ms, 0)} ms (untimed setup); IPC size ${fmt(size)} MB (${fmt(bytes.byteLength / 2 ** 20)} MiB)`)
  const store = new Store(scratch("ipc-store"))
  const hash = hashBytes(bytes)
  const unstore = () => fs.rmSync(store.objectPath(hash), { force: true })
  const first = timed(() => store.putTable(table))
  if (first.value.hash !== hash) throw new Error(`putTable stored ${first.value.hash}, the IPC bytes hash to ${hash}`)
  const write = size / (best5(() => store.putTable(table), unstore) / 1000)
  const read = size / (best5(() => Effect.runSync(Table.fromIPC(IpcRow, bytes))) / 1000)
  const back = Effect.runSync(Table.fromIPC(IpcRow, store.getObject(hash)))
  if (back.numRows !== table.numRows) throw new Error(`read back ${back.numRows} rows, wrote ${table.numRows}`)
  report("ipc_write_mb_s: Store.putTable, table → object (best of 5)", `${fmt(write, 0)} MB/s`, { text: "> 1000 MB/s", met: write > 1000 })
  report("  its first call in this process (buffer untouched)", `${fmt(size / (first.ms / 1000), 0)} MB/s`)
  report("  Table.toIPC alone, into a new buffer (best of 5)", `${fmt(size / (best5(() => Table.toIPC(table)) / 1000), 0)} MB/s`)
  report("  Table.toIPCChunks alone, not joined (best of 5)", `${fmt(size / (best5(() => Table.toIPCChunks(table)) / 1000), 0)} MB/s`)
  report("  putObject of ready bytes: hash + write (best of 5)", `${fmt(size / (best5(() => store.putObject(bytes), unstore) / 1000), 0)} MB/s`)
  // Reading is zero-copy (column buffers are views into the IPC bytes): this is parse + schema check.
  report("ipc_read_mb_s: Table.fromIPC (best of 5)", `${fmt(read, 0)} MB/s`, { text: "> 1000 MB/s", met: read > 1000 })
  report("  store getObject: read + verify hash (best of 5)", `${fmt(size / (best5(() => store.getObject(hash)) / 1000), 0)} MB/s`)
  report("  getObject + fromIPC (best of 5)", `${fmt(size / (best5(() => Effect.runSync(Table.fromIPC(IpcRow, store.getObject(hash)))) / 1000), 0)} MB/s`)
  // Machine baselines: writing into freshly allocated memory (what toIPC and readFileSync do) costs
  // a page fault per 4 KiB page on first touch; copying into memory already touched does not.
  const fresh = best5(() => new Uint8Array(bytes.byteLength).set(bytes))
  const warmTarget = new Uint8Array(bytes.byteLength)
  const warm = best5(() => warmTarget.set(bytes))
  report("baseline: copy into a new 64 MiB buffer (best of 5)", `${fmt(size / (fresh / 1000), 0)} MB/s`)
  report("baseline: copy into a reused buffer (best of 5)", `${fmt(size / (warm / 1000), 0)} MB/s`)
  return { write, read }
}

// ---------------------------------------------------------------- parallel speed-up

/**
 * Iterations of `burn` that take about `ms` milliseconds of CPU on one core (measured warm, by CPU
 * time rather than wall time, so that other processes on a shared machine do not shrink it).
 */
const calibrate = (ms: number): number => {
  burn(1e6)
  let n = 1e6
  for (;;) {
    const t = timed(() => burn(n)).cpuMs
    if (t >= 200) return Math.round((n / t) * ms)
    n *= 2
  }
}

interface ParallelRun {
  readonly wallMs: number
  /** From the first burn's start to the last one's end (no worker start-up). */
  readonly burnSpanMs: number
  /** The two burns' own durations, summed. */
  readonly burnSumMs: number
  /** How long both burns ran at the same time. */
  readonly overlapMs: number
}

/** One run of the two-node pipeline in `file` with `cpuSlots` slots, in a fresh store, end to end. */
const runParallel = async (file: string, cpuSlots: number, iterations: number): Promise<ParallelRun> => {
  const pipeline = await loadPipeline(file)
  const store = new Store(scratch(`parallel-${path.basename(file, ".ts")}-${cpuSlots}`))
  const t0 = performance.now()
  const summary = await Effect.runPromise(Runner.run({
    pipeline, pipelineFile: file, sets: [`iterations=${iterations}`], store, cwd: repoRoot, seed: 0,
    cpuSlots, gpus: [], requireGpu: false, force: [], reporter: silentReporter, runId: `bench-${cpuSlots}-${epochMs()}`
  }))
  const wallMs = performance.now() - t0
  if (!summary.ok || !summary.stages.every((s) => s.status === "ran")) {
    throw new Error(`parallel run of ${file} (cpuSlots ${cpuSlots}) did not run both nodes: ${JSON.stringify(summary.stages)}`)
  }
  const [a, b] = store.entries().map((e) => ({ start: Number(e.lineage["burnStart"]), end: Number(e.lineage["burnEnd"]) }))
  if (a === undefined || b === undefined) throw new Error("expected two burn entries in the store")
  return {
    wallMs,
    burnSpanMs: Math.max(a.end, b.end) - Math.min(a.start, b.start),
    burnSumMs: a.end - a.start + b.end - b.start,
    overlapMs: Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start))
  }
}

/** Runs of each configuration: a median of 5 shrugs off one run that another process slowed down. */
const ROUNDS = 5

/**
 * The two nodes of `file` run by the Runner with cpuSlots 2 and with cpuSlots 1, `ROUNDS` runs each
 * (alternating which goes first, each in a fresh store); returns the ratio of the median
 * end-to-end wall times, worker start-up included, and prints where the time went.
 *
 * Workers start from the launcher's worker bundle for the pipeline, as under `rlhf run`, and the
 * Runner runs in a fresh process (see benchParallelInFreshProcess), as under `rlhf run`. With one
 * slot a single worker starts and runs both nodes in turn (start-up + 2 s); with two slots two
 * workers start at once and compete for the same two cores while they load the bundle
 * (start-up′ + 1 s). Start-up is paid in both cases, so the end-to-end ratio stays below the 2× of
 * the compute alone; the burn-only ratio (first burn start to last burn end, from the stages' own
 * timestamps) is printed beside it to separate the two.
 */
const benchTier = async (label: string, fixture: string, iterations: number): Promise<number> => {
  const file = path.join(repoRoot, fixture)
  const { worker } = await bundles(file)
  process.env["RLHF_WORKER_BUNDLE"] = worker
  process.env["RLHF_WORKER_PIPELINE"] = file
  console.log(`  ${label} (${fixture}):`)
  const one: ParallelRun[] = []
  const two: ParallelRun[] = []
  for (let i = 0; i < ROUNDS; i++) {
    for (const slots of i % 2 === 0 ? [1, 2] : [2, 1]) (slots === 1 ? one : two).push(await runParallel(file, slots, iterations))
    const [r1, r2] = [one[i]!, two[i]!]
    console.log(`    round ${i + 1}: cpuSlots 1 ${fmt(r1.wallMs, 0)} ms, cpuSlots 2 ${fmt(r2.wallMs, 0)} ms; ` +
      `with 2 slots the burns overlapped ${fmt(r2.overlapMs, 0)} ms and took ${fmt(r2.burnSumMs / 2, 0)} ms each ` +
      `(${fmt(r1.burnSumMs / 2, 0)} ms one at a time) (load ${load()})`)
  }
  const wall1 = median(one.map((r) => r.wallMs))
  const wall2 = median(two.map((r) => r.wallMs))
  const span1 = median(one.map((r) => r.burnSpanMs))
  const span2 = median(two.map((r) => r.burnSpanMs))
  report(`  cpuSlots 1 / 2: wall (medians of ${ROUNDS})`, `${fmt(wall1, 0)} / ${fmt(wall2, 0)} ms`)
  report("  worker start-up + overhead, cpuSlots 1 / 2", `${fmt(wall1 - span1, 0)} / ${fmt(wall2 - span2, 0)} ms`)
  report("  burn time of one stage, cpuSlots 1 / 2", `${fmt(median(one.map((r) => r.burnSumMs / 2)), 0)} / ${fmt(median(two.map((r) => r.burnSumMs / 2)), 0)} ms`)
  report("  burn-only speed-up (span 1 / span 2)", `${fmt(span1 / span2, 2)}×`)
  report("  speed-up (wall 1 / wall 2)", `${fmt(wall1 / wall2, 2)}×`)
  return wall1 / wall2
}

/**
 * Two independent ~1 s CPU stages on two cores, on worker threads (the tier for pure-JavaScript
 * CPU stages: parallel_speedup) and on worker processes (the tier of model stages, whose start-up
 * costs more: printed for comparison).
 */
const benchParallel = async (): Promise<number> => {
  section("parallel: two independent ~1 s CPU stages, cpuSlots 2 vs 1")
  console.log(`  this process: ${fmt(process.memoryUsage().rss / 2 ** 20, 0)} MiB resident (forking a worker copies its page tables)`)
  const iterations = calibrate(1000)
  console.log(`  calibrated: ${iterations.toExponential(2)} xorshift rounds ≈ 1 s of CPU on one core`)
  const threads = await benchTier("worker threads (isolate: \"thread\")", "bench/fixtures/parallel.ts", iterations)
  const processes = await benchTier("worker processes (isolate: \"process\")", "bench/fixtures/parallel-process.ts", iterations)
  // What one worker process costs to start, as WorkerPool forks it: the worker bundle (WorkerMain
  // and the pipeline; without an IPC channel it exits once loaded); for context, the sources through tsx.
  const file = path.join(repoRoot, "bench/fixtures/parallel-process.ts")
  const { worker } = await bundles(file) // the build benchTier made: cached
  const startCpu = medianChildCpu([worker!], 3)
  report("CPU of one worker process's start-up, user + sys (median of 3)", cpuText(startCpu))
  const workerStart = `await import(${JSON.stringify(path.join(repoRoot, "packages/runner/src/WorkerMain.ts"))}); ` +
    `const { loadPipeline } = await import(${JSON.stringify(path.join(repoRoot, "packages/runner/src/LoadPipeline.ts"))}); ` +
    `await loadPipeline(${JSON.stringify(file)})`
  report("  the same from the sources through tsx (RLHF_NO_BUNDLE=1)", cpuText(medianChildCpu(["--import", "tsx", "-e", workerStart], 3)))
  // Two free cores would give about (S + 2B) / (S + B) on processes, from one worker's start-up
  // CPU S (measured here, so inflated by any load) and the 1 s burn B.
  if (startCpu !== undefined) report("  processes from CPU times, (S + 2B) / (S + B)", `${fmt((startCpu + 2000) / (startCpu + 1000), 2)}×`)
  report("speed-up on worker processes (wall 1 / wall 2)", `${fmt(processes, 2)}×`)
  report("parallel_speedup: on worker threads (wall 1 / wall 2)", `${fmt(threads, 2)}×`, { text: "> 1.8×", met: threads > 1.8 })
  return threads
}

/**
 * The parallel section in a process of its own, as `rlhf run` is one. A worker is forked from the
 * process that runs the Runner, and fork copies that process's page tables: from this process,
 * after the plan and IPC sections have left it hundreds of MiB resident, each fork costs several
 * times what it costs from a runner's (and its garbage collector competes with the workers), which
 * is not what a user of `rlhf run` waits for. RLHF_BENCH_PARALLEL_HERE=1 runs it in this process.
 */
const benchParallelInFreshProcess = (): number => {
  const r = spawnSync(process.execPath, [...process.execArgv, import.meta.filename], {
    cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 900_000,
    env: { ...process.env, RLHF_BENCH_ONLY: "parallel", RLHF_BENCH_PARALLEL_HERE: "1" }
  })
  if (r.status !== 0) throw new Error(`the parallel section's process exited ${r.status ?? r.signal}:\n${r.stdout}`)
  const out = r.stdout
  process.stdout.write(`${out.slice(out.indexOf("\n== parallel"), out.indexOf("\nload average at the end")).trimEnd()}\n`)
  const result = (JSON.parse(out.trim().split("\n").at(-1)!) as { parallel_speedup: number | null }).parallel_speedup
  if (result === null) throw new Error(`the parallel section printed no result:\n${out}`)
  return result
}

// ---------------------------------------------------------------- main

/** RLHF_BENCH_ONLY=plan,rerun,hash,ipc,parallel runs only those sections (the others print null). */
const only = process.env["RLHF_BENCH_ONLY"]?.split(",").map((x) => x.trim())
const wanted = (name: string) => only === undefined || only.includes(name)

const main = async () => {
  printMachine()
  try {
    const plan10k = wanted("plan") ? benchPlan() : undefined
    const cachedRerun = wanted("rerun") ? benchCachedRerun() : undefined
    const hash = wanted("hash") ? benchHash() : undefined
    const ipc = wanted("ipc") ? benchIpc() : undefined
    const speedup = !wanted("parallel") ? undefined
      : process.env["RLHF_BENCH_PARALLEL_HERE"] === "1" ? await benchParallel() : benchParallelInFreshProcess()
    console.log(`\nload average at the end: ${load()} on ${os.cpus().length} cores`)
    const round = (x: number | undefined, digits: number) => (x === undefined ? null : Number(x.toFixed(digits)))
    console.log(JSON.stringify({
      plan_10k_ms: round(plan10k, 1),
      cached_rerun_ms: round(cachedRerun, 1),
      hash_mb_s: round(hash, 0),
      ipc_write_mb_s: round(ipc?.write, 0),
      ipc_read_mb_s: round(ipc?.read, 0),
      parallel_speedup: round(speedup, 3)
    }))
  } finally {
    fs.rmSync(scratchRoot, { recursive: true, force: true })
  }
}

await main()
