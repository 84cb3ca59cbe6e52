/**
 * A pipeline: stages added as nodes and wired output → input, written as TypeScript.
 *
 * A pipeline is a build function over a `Builder`. Resolving it (with `--set` overrides) runs the
 * build, decodes every node's params by its stage's schema, and checks the graph before anything
 * runs. Groups and included pipelines prefix their node ids (`group/node`).
 *
 * @example
 * ```ts
 * import { Pipeline } from "@rlhf/core"
 * import { ReadText, CountWords } from "./stages.ts"
 * export default Pipeline.make("words", (p) => {
 *   const text = p.add("text", ReadText, { params: { path: "corpus.txt" } })
 *   p.add("counts", CountWords, { inputs: { lines: text.out.lines }, params: { minCount: 2 } })
 * })
 * ```
 */
import { Effect, Graph, Schema } from "effect"
import * as ArrowSchema from "./ArrowSchema.ts"
import { GraphError, ParamError } from "./Errors.ts"
import type { AnyStage, Ports, Stage } from "./Stage.ts"
import { callerModule } from "./Stage.ts"
import type { RowSchema } from "./Table.ts"

/** A reference to one output of one node; its row type is checked where it is wired. */
export interface OutputRef<S extends RowSchema> {
  readonly node: string
  readonly output: string
  readonly schema: RowSchema
  /** Phantom, never set: makes the ref invariant in its row type, so a mismatched wire fails to compile. */
  readonly _row?: (row: S["Type"]) => S["Type"]
}

/** A node as the builder returns it: its id and typed refs to its outputs. */
export interface Node<O extends Ports> {
  readonly id: string
  readonly out: { readonly [K in keyof O]: OutputRef<O[K]> }
}

/** What `add` takes besides the stage: wired inputs (required when the stage has any) and params. */
export type AddOptions<I extends Ports, P extends Schema.Top> =
  & {
    readonly params?: Partial<P["Encoded"]>
    /** Overrides the stage's declared time limit of one attempt, in milliseconds. */
    readonly timeoutMs?: number
    /** Overrides the stage's declared number of retries. */
    readonly retries?: number
  }
  & ([keyof I] extends [never] ? { readonly inputs?: Record<string, never> }
    : { readonly inputs: { readonly [K in keyof I]: OutputRef<I[K]> } })

/** Builds a pipeline. */
export interface Builder {
  /** The id prefix of this builder (`""` at the top, `"group/"` inside a group). */
  readonly prefix: string
  /** Adds a stage as a node with an id unique in the pipeline. */
  add<I extends Ports, O extends Ports, P extends Schema.Top>(
    id: string,
    stage: Stage<I, O, P>,
    ...options: [keyof I] extends [never] ? [AddOptions<I, P>?] : [AddOptions<I, P>]
  ): Node<O>
  /** Adds the nodes built by `build` under `id/`; returns what `build` returns. */
  group<R>(id: string, build: (g: Builder) => R): R
  /** Adds another pipeline's nodes under `id/`; returns what its build function returns. */
  include<R>(id: string, pipeline: Pipeline<R>): R
  /** A structural knob of the pipeline or group (e.g. a loop count), overridable with `--set [group.]name=value`. */
  param<S extends Schema.Top>(name: string, schema: S, defaultValue: S["Type"]): S["Type"]
  /** A reference by id, for wiring to a node that is added later (checked when the pipeline resolves). */
  ref<S extends RowSchema>(node: string, output: string, schema: S): OutputRef<S>
}

/** A pipeline definition: a name and a build function. */
export interface Pipeline<R = unknown> {
  readonly name: string
  readonly build: (p: Builder) => R
  readonly module: string
}

/** Declares a pipeline. */
export const make = <R>(name: string, build: (p: Builder) => R): Pipeline<R> => ({ name, build, module: callerModule() })

/** A node after resolution: params decoded, inputs wired by id. */
export interface ResolvedNode {
  readonly id: string
  readonly stage: AnyStage
  readonly params: unknown
  readonly inputs: Readonly<Record<string, { readonly node: string; readonly output: string }>>
  readonly timeoutMs: number | undefined
  readonly retries: number
}

/** A resolved, checked pipeline: nodes in topological order. */
export interface Resolved {
  readonly name: string
  readonly module: string
  readonly nodes: ReadonlyArray<ResolvedNode>
  readonly byId: ReadonlyMap<string, ResolvedNode>
}

interface Draft {
  readonly id: string
  readonly stage: AnyStage
  readonly params: Record<string, unknown>
  readonly inputs: Record<string, OutputRef<RowSchema>>
  readonly timeoutMs: number | undefined
  readonly retries: number | undefined
}

/** Parses `node.param=value` overrides; values are JSON where they parse, strings otherwise. */
export const parseSets = (sets: ReadonlyArray<string>): Map<string, string> => {
  const out = new Map<string, string>()
  for (const s of sets) {
    const eq = s.indexOf("=")
    if (eq <= 0) throw new ParamError({ node: "--set", param: s, expected: "the form <node-id>.<param>=<value>", value: s })
    out.set(s.slice(0, eq), s.slice(eq + 1))
  }
  return out
}

const candidates = (raw: string): unknown[] => {
  try {
    return [JSON.parse(raw), raw]
  } catch {
    return [raw]
  }
}

const decodeParams = (node: string, stage: AnyStage, given: Record<string, unknown>, sets: Map<string, string>) => {
  const merged: Record<string, unknown> = { ...given }
  const fields = new Set(stage.params.ast._tag === "Objects" ? stage.params.ast.propertySignatures.map((p: { name: PropertyKey }) => String(p.name)) : [])
  for (const [key, raw] of sets) {
    if (!key.startsWith(`${node}.`)) continue
    const param = key.slice(node.length + 1)
    if (!fields.has(param)) {
      throw new ParamError({ node, param, expected: `one of the params of stage '${stage.name}': ${[...fields].join(", ") || "(none)"}`, value: raw })
    }
    // Try the JSON reading first, then the raw string, so `--set a.path=123` still works for a string param.
    const ok = candidates(raw).find((v) => Schema.decodeUnknownResult(stage.params)({ ...merged, [param]: v })._tag === "Success")
    merged[param] = ok === undefined ? candidates(raw)[0] : ok
  }
  const result = Schema.decodeUnknownResult(stage.params)(merged)
  if (result._tag === "Success") return result.success
  const message = String(result.failure.message)
  const param = /at \["([^"]+)"\]/.exec(message)?.[1] ?? "<params>"
  const value = JSON.stringify(merged[param]) ?? "undefined"
  throw new ParamError({ node, param, expected: (message.split("\n")[0] ?? message).replace(/, got .*$/, ""), value })
}

const checkId = (id: string) => {
  if (id === "" || id.includes(".") || /\s/.test(id)) {
    throw new GraphError({ kind: "duplicate-id", node: id, detail: "a node id must be non-empty, without '.' or spaces" })
  }
}

const makeBuilder = (prefix: string, drafts: Map<string, Draft>, sets: Map<string, string>, usedSets: Set<string>): Builder => {
  const builder: Builder = {
    prefix,
    add(id, stage, ...options) {
      checkId(id)
      const full = prefix + id
      if (drafts.has(full)) {
        throw new GraphError({ kind: "duplicate-id", node: full, detail: `the id is already used by a node of stage '${drafts.get(full)!.stage.name}'; give each node its own id` })
      }
      const opts = (options[0] ?? {}) as { params?: Record<string, unknown>; inputs?: Record<string, OutputRef<RowSchema>>; timeoutMs?: number; retries?: number }
      drafts.set(full, { id: full, stage, params: opts.params ?? {}, inputs: opts.inputs ?? {}, timeoutMs: opts.timeoutMs, retries: opts.retries })
      const out = Object.fromEntries(Object.entries(stage.outputs as Ports).map(([name, schema]) => [name, { node: full, output: name, schema }]))
      return { id: full, out } as never
    },
    group(id, build) {
      checkId(id)
      return build(makeBuilder(`${prefix}${id}/`, drafts, sets, usedSets))
    },
    include(id, pipeline) {
      return builder.group(id, pipeline.build)
    },
    param(name, schemaArg, defaultValue) {
      const schema = schemaArg as unknown as Schema.Codec<unknown>
      const key = prefix === "" ? name : `${prefix.slice(0, -1)}.${name}`
      const raw = sets.get(key)
      if (raw === undefined) return defaultValue
      usedSets.add(key)
      const value = candidates(raw).find((v) => Schema.decodeUnknownResult(schema)(v)._tag === "Success")
      if (value === undefined) {
        const r = Schema.decodeUnknownResult(schema)(candidates(raw)[0])
        const expected = r._tag === "Failure" ? String(r.failure.message).split("\n")[0]! : "a valid value"
        throw new ParamError({ node: prefix === "" ? "<pipeline>" : prefix.slice(0, -1), param: name, expected, value: raw })
      }
      return Schema.decodeUnknownSync(schema)(value) as never
    },
    ref(node, output, schema) {
      return { node, output, schema }
    }
  }
  return builder
}

const describeField = (f: { readonly name: string; readonly type: unknown; readonly nullable: boolean }) =>
  `${f.name}: ${f.nullable ? "nullable " : ""}${String(f.type)}`

const checkInputs = (draft: Draft, drafts: Map<string, Draft>) => {
  const declared = draft.stage.inputs as Ports
  for (const name of Object.keys(draft.inputs)) {
    if (!(name in declared)) {
      throw new GraphError({ kind: "unknown-input", node: draft.id, detail: `stage '${draft.stage.name}' has no input '${name}'; its inputs are: ${Object.keys(declared).join(", ") || "(none)"}` })
    }
  }
  for (const [name, schema] of Object.entries(declared)) {
    const ref = draft.inputs[name]
    if (ref === undefined) {
      throw new GraphError({ kind: "missing-input", node: draft.id, detail: `input '${name}' of stage '${draft.stage.name}' is not wired; pass inputs: { ${name}: <node>.out.<output> }` })
    }
    const from = drafts.get(ref.node)
    if (from === undefined) {
      const near = [...drafts.keys()].filter((k) => k.endsWith(ref.node) || ref.node.endsWith(k)).slice(0, 3)
      throw new GraphError({ kind: "unknown-node", node: draft.id, detail: `input '${name}' reads from '${ref.node}', which is not a node of this pipeline${near.length > 0 ? `; did you mean ${near.join(", ")}?` : ""}` })
    }
    const fromSchema = (from.stage.outputs as Ports)[ref.output]
    if (fromSchema === undefined) {
      throw new GraphError({ kind: "unknown-output", node: draft.id, detail: `input '${name}' reads output '${ref.output}' of '${ref.node}', but stage '${from.stage.name}' outputs only: ${Object.keys(from.stage.outputs).join(", ")}` })
    }
    const have = ArrowSchema.toArrowSchema(fromSchema).fields
    // An input that admits null may read a non-null column, never the reverse.
    const missing = ArrowSchema.toArrowSchema(schema).fields.filter((w) => {
      const h = have.find((f) => f.name === w.name)
      return h === undefined || String(h.type) !== String(w.type) || (h.nullable && !w.nullable)
    })
    if (missing.length > 0) {
      throw new GraphError({ kind: "schema-mismatch", node: draft.id, detail: `input '${name}' needs columns ${missing.map(describeField).join(", ")} that output '${ref.node}.${ref.output}' does not have (it has ${have.map(describeField).join(", ")})` })
    }
  }
}

const topoOrder = (drafts: Map<string, Draft>): Draft[] => {
  const list = [...drafts.values()]
  const index = new Map(list.map((d, i) => [d.id, i]))
  const graph = Graph.directed<string, string>((g) => {
    for (const d of list) Graph.addNode(g, d.id)
    for (const d of list) {
      for (const ref of Object.values(d.inputs)) Graph.addEdge(g, index.get(ref.node)!, index.get(d.id)!, ref.output)
    }
  })
  if (!Graph.isAcyclic(graph)) {
    // A node wired to its own output is a cycle of one, which has no component of two or more.
    const selfLoop = list.findIndex((d) => Object.values(d.inputs).some((r) => r.node === d.id))
    const cycle = Graph.stronglyConnectedComponents(graph).find((c) => c.length > 1) ?? (selfLoop >= 0 ? [selfLoop] : [])
    const ids = cycle.map((i) => list[i]!.id)
    throw new GraphError({ kind: "cycle", node: ids[0] ?? "?", detail: `these nodes depend on each other in a cycle: ${ids.join(" → ")}; break one of the wires` })
  }
  return Array.from(Graph.indices(Graph.topo(graph)), (i) => list[i]!)
}

/** Resolves a pipeline: builds it with overrides, decodes params, checks the graph. */
export const resolveSync = (pipeline: Pipeline, setArgs: ReadonlyArray<string> = []): Resolved => {
  const sets = parseSets(setArgs)
  const drafts = new Map<string, Draft>()
  const usedSets = new Set<string>()
  pipeline.build(makeBuilder("", drafts, sets, usedSets))
  for (const key of sets.keys()) {
    if (usedSets.has(key)) continue
    const node = key.includes(".") ? key.slice(0, key.indexOf(".")) : key
    if (!drafts.has(node)) {
      throw new GraphError({ kind: "unknown-node", node, detail: `--set ${key}: no node '${node}' in pipeline '${pipeline.name}'; nodes: ${[...drafts.keys()].join(", ")}` })
    }
  }
  for (const d of drafts.values()) checkInputs(d, drafts)
  const nodes = topoOrder(drafts).map((d): ResolvedNode => ({
    id: d.id,
    stage: d.stage,
    params: decodeParams(d.id, d.stage, d.params, sets),
    inputs: Object.fromEntries(Object.entries(d.inputs).map(([k, r]) => [k, { node: r.node, output: r.output }])),
    timeoutMs: d.timeoutMs ?? d.stage.timeoutMs,
    retries: d.retries ?? d.stage.retries ?? 0
  }))
  return { name: pipeline.name, module: pipeline.module, nodes, byId: new Map(nodes.map((n) => [n.id, n])) }
}

/** A node as built, before `resolveSync`'s checks: everything but its decoded params. */
export type BuiltNode = Omit<ResolvedNode, "params">

/**
 * The nodes of a pipeline built with `setArgs`, by id, without `resolveSync`'s graph checks,
 * ordering and param decoding. For a worker process: its runner has resolved the same pipeline and
 * sends the decoded params with each node to run, so the worker only needs to find the node's stage.
 */
export const buildNodesSync = (pipeline: Pipeline, setArgs: ReadonlyArray<string> = []): ReadonlyMap<string, BuiltNode> => {
  const drafts = new Map<string, Draft>()
  pipeline.build(makeBuilder("", drafts, parseSets(setArgs), new Set()))
  return new Map([...drafts.values()].map((d): [string, BuiltNode] => [d.id, {
    id: d.id,
    stage: d.stage,
    inputs: Object.fromEntries(Object.entries(d.inputs).map(([k, r]) => [k, { node: r.node, output: r.output }])),
    timeoutMs: d.timeoutMs ?? d.stage.timeoutMs,
    retries: d.retries ?? d.stage.retries ?? 0
  }]))
}

/** `resolveSync` as an Effect with its errors typed. */
export const resolve = (pipeline: Pipeline, setArgs: ReadonlyArray<string> = []) =>
  Effect.try({
    try: () => resolveSync(pipeline, setArgs),
    catch: (e) => (e instanceof GraphError || e instanceof ParamError ? e : new GraphError({ kind: "unknown-node", node: "?", detail: String(e) }))
  })

/** The ids of a node and everything downstream of it. */
export const downstreamOf = (resolved: Resolved, id: string): Set<string> => {
  const out = new Set([id])
  for (const n of resolved.nodes) {
    if (Object.values(n.inputs).some((r) => out.has(r.node))) out.add(n.id)
  }
  return out
}

/** The ids of a node and everything upstream of it. */
export const upstreamOf = (resolved: Resolved, id: string): Set<string> => {
  const out = new Set([id])
  for (const n of [...resolved.nodes].reverse()) {
    if (out.has(n.id)) for (const r of Object.values(n.inputs)) out.add(r.node)
  }
  return out
}
