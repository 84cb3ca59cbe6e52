/**
 * The `rlhf` command line: run, plan, show, graph, cache.
 */
import * as os from "node:os"
import * as path from "node:path"
import { Pipeline, Table } from "@rlhf/core"
import * as Arrow from "apache-arrow"
import { Command, Option } from "commander"
import { Effect, Exit, Fiber } from "effect"
import * as CacheCommands from "./CacheCommands.ts"
import type * as GenerateCommand from "./GenerateCommand.ts"
import * as GraphView from "./GraphView.ts"
import { detectGpus, parseGpus } from "./Gpus.ts"
import { loadPipeline } from "./LoadPipeline.ts"
import { plan } from "./Plan.ts"
import { plainReporter, terminalReporter } from "./ProgressView.ts"
import * as Runner from "./Runner.ts"
import * as Show from "./Show.ts"
import { Store, storeDir } from "./Store.ts"

const collect = (value: string, previous: string[]) => [...previous, value]

const setOption = () => new Option("--set <node.param=value>", "override a param (repeatable)").argParser(collect).default([])
const storeOption = () => new Option("--store <dir>", "the store directory (default: $RLHF_STORE or ./.rlhf)")
const seedOption = () => new Option("--seed <n>", "the run's seed").argParser(Number).default(0)

const fail = (message: string): never => {
  process.stderr.write(`rlhf: ${message}\n`)
  process.exit(2)
}

const runCommand = async (file: string, opts: {
  set: string[]; from?: string; only?: string; force: string[]; store?: string; gpus?: string; requireGpu?: boolean
  json?: boolean; seed: number; cpus?: number; verbose?: boolean
}) => {
  const pipeline = await loadPipeline(file)
  const store = new Store(storeDir(opts.store))
  const runId = `${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`
  const reporter = process.stderr.isTTY && opts.json !== true ? await terminalReporter() : plainReporter({ verbose: opts.verbose === true })
  // Found only when a GPU stage computes: `nvidia-smi` is a process start a cached rerun can skip.
  const gpus = opts.gpus === undefined ? detectGpus : parseGpus(opts.gpus)
  const program = Runner.run({
    pipeline, pipelineFile: path.resolve(file), sets: opts.set, store, cwd: process.cwd(), seed: opts.seed,
    cpuSlots: opts.cpus ?? os.availableParallelism(), gpus, requireGpu: opts.requireGpu === true,
    from: opts.from, only: opts.only, force: opts.force, reporter, runId
  })
  const fiber = Effect.runFork(program)
  const cancel = () => {
    process.stderr.write("\nrlhf: cancelling: stopping workers; nothing partial enters the store\n")
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.once("SIGINT", cancel)
  process.once("SIGTERM", cancel)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  if (Exit.isFailure(exit)) {
    if (Exit.hasInterrupts(exit)) process.exit(130)
    const error = exit.cause.reasons.find((r) => r._tag === "Fail" || r._tag === "Die")
    fail(error === undefined ? String(exit.cause) : String((error as { error?: Error; defect?: Error }).error?.message ?? (error as { defect?: Error }).defect?.message))
  }
  const summary = (exit as Exit.Success<Runner.RunSummary>).value
  const width = Math.max(...summary.stages.map((s) => s.id.length))
  for (const s of summary.stages) {
    process.stdout.write(`${s.status.padEnd(8)} ${s.id.padEnd(width)} ${String(s.ms).padStart(8)} ms${s.reason === undefined || s.status === "skipped" && s.reason.startsWith("not selected") ? "" : `  ${s.reason.split("\n")[0]}`}\n`)
  }
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify({ stages: summary.stages.map(({ id, status, key, ms }) => ({ id, status, key, ms })) })}\n`)
  }
  process.exitCode = summary.ok ? 0 : 1
}

const planCommand = async (file: string, opts: { set: string[]; store?: string; json?: boolean; seed: number; force: string[] }) => {
  const resolved = Pipeline.resolveSync(await loadPipeline(file), opts.set)
  const nodes = plan(resolved, new Store(storeDir(opts.store)), { cwd: process.cwd(), seed: opts.seed, force: opts.force })
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify({ nodes })}\n`)
    return
  }
  const width = Math.max(...nodes.map((n) => n.id.length))
  for (const n of nodes) process.stdout.write(`${n.status.padEnd(7)} ${n.id.padEnd(width)}  ${n.reasons.join("; ")}\n`)
}

const showCommand = async (file: string, target: string, opts: { set: string[]; store?: string; format: Show.ShowFormat; limit: number; seed: number }) => {
  const resolved = Pipeline.resolveSync(await loadPipeline(file), opts.set)
  const [nodeId, output] = target.includes(".") ? [target.slice(0, target.lastIndexOf(".")), target.slice(target.lastIndexOf(".") + 1)] : [target, undefined]
  const node = resolved.byId.get(nodeId) ?? fail(`no node '${nodeId}'; nodes: ${resolved.nodes.map((n) => n.id).join(", ")}`)
  const store = new Store(storeDir(opts.store))
  const planned = plan(resolved, store, { cwd: process.cwd(), seed: opts.seed }).find((n) => n.id === nodeId)!
  if (planned.status !== "cached") fail(`node '${nodeId}' has no cached output (${planned.reasons.join("; ")}); run the pipeline first`)
  const entry = store.getEntry(planned.key!)!
  const name = output ?? Object.keys(node.stage.outputs)[0]!
  const stored = entry.outputs[name] ?? fail(`node '${nodeId}' has no output '${name}'; outputs: ${Object.keys(entry.outputs).join(", ")}`)
  const arrow = Arrow.tableFromIPC(store.getObject(stored.hash))
  const meta = Table.metadata({ arrow } as never)
  process.stdout.write(`${Show.format(arrow, opts.format, opts.limit)}\n`)
  if (opts.format === "table" && Object.keys(meta).length > 0) process.stdout.write(`metadata: ${JSON.stringify(meta)}\n`)
}

/** The CLI program. */
export const program = () => {
  const cli = new Command("rlhf").description("Declarative, cached RLHF pipelines").showHelpAfterError()
  cli.command("run <pipeline>").description("run stale stages, reuse cached ones")
    .addOption(setOption()).addOption(storeOption()).addOption(seedOption())
    .option("--from <node>", "rerun this node and everything downstream")
    .option("--only <node>", "run only this node (and what it needs)")
    .addOption(new Option("--force <node>", "rerun this node even if cached (repeatable)").argParser(collect).default([]))
    .option("--gpus <list>", "GPU devices to use, e.g. 0,1 (default: nvidia-smi -L)")
    .option("--require-gpu", "fail GPU stages when no GPU exists instead of running them on the CPU")
    .option("--cpus <n>", "CPU slots (default: the core count)", Number)
    .option("--json", "print a JSON summary as the last line")
    .option("--verbose", "echo stage logs")
    .action(runCommand)
  cli.command("plan <pipeline>").description("what run would do, and why each stale node is stale")
    .addOption(setOption()).addOption(storeOption()).addOption(seedOption())
    .addOption(new Option("--force <node>", "plan as if forced").argParser(collect).default([]))
    .option("--json", "print JSON")
    .action(planCommand)
  cli.command("show <pipeline> <node>").description("print a node's cached output (<node>[.<output>])")
    .addOption(setOption()).addOption(storeOption()).addOption(seedOption())
    .addOption(new Option("--format <format>", "table, jsonl or csv").choices(["table", "jsonl", "csv"]).default("table"))
    .option("--limit <n>", "rows to print", Number, 20)
    .action(showCommand)
  cli.command("graph <pipeline>").description("print the pipeline's graph")
    .addOption(setOption())
    .addOption(new Option("--format <format>", "mermaid or dot").choices(["mermaid", "dot"]).default("mermaid"))
    .action(async (file: string, opts: { set: string[]; format: "mermaid" | "dot" }) => {
      process.stdout.write(`${GraphView.render(Pipeline.resolveSync(await loadPipeline(file), opts.set), opts.format)}\n`)
    })
  cli.command("generate <pipeline> <node>").description("sample from a model the pipeline produced")
    .addOption(setOption()).addOption(storeOption()).addOption(seedOption())
    .addOption(new Option("--prompt <text>", "a prompt (repeatable)").argParser(collect).default([]))
    .option("--interactive", "chat on the terminal (/exit to leave)")
    .option("--tokenizer <node>", "the node whose tokenizer output to use (default: the nearest upstream)")
    .option("--max-new-tokens <n>", "tokens to sample", Number, 64)
    .option("--temperature <t>", "sampling temperature", Number, 1)
    .option("--top-k <k>", "keep the k most likely tokens", Number)
    .option("--top-p <p>", "nucleus sampling", Number)
    .option("--greedy", "always take the most likely token")
    .action(async (file: string, node: string, opts: GenerateCommand.GenerateOptions & { store?: string }) => {
      if (opts.prompt.length === 0 && opts.interactive !== true) fail("give --prompt \"…\" or --interactive")
      // Loaded only here: it pulls in readline and, lazily, the model code.
      const { generate } = await import("./GenerateCommand.ts")
      await generate(await loadPipeline(file), new Store(storeDir(opts.store)), node, opts)
    })
  const cache = cli.command("cache").description("inspect and maintain the store")
  cache.command("ls").addOption(storeOption()).action((opts: { store?: string }) => {
    for (const l of CacheCommands.ls(new Store(storeDir(opts.store)))) process.stdout.write(`${l}\n`)
  })
  cache.command("verify").addOption(storeOption()).action((opts: { store?: string }) => {
    const r = CacheCommands.verify(new Store(storeDir(opts.store)))
    process.stdout.write(`${r.checked} objects checked, ${r.corrupt.length} corrupt${r.corrupt.length > 0 ? ` (removed: ${r.corrupt.join(", ")})` : ""}\n`)
    process.exitCode = r.corrupt.length > 0 ? 1 : 0
  })
  cache.command("gc").addOption(storeOption()).action((opts: { store?: string }) => {
    const r = CacheCommands.gc(new Store(storeDir(opts.store)))
    process.stdout.write(`removed ${r.entries} entries, ${r.objects} objects (${r.bytes} bytes)\n`)
  })
  return cli
}

/** Runs the CLI; errors that name what is wrong are printed without a stack. */
export const main = async (argv: string[]) => {
  try {
    await program().parseAsync(argv)
  } catch (e) {
    const err = e as Error & { _tag?: string }
    fail(err._tag !== undefined || err instanceof Error ? err.message : String(e))
  }
}
