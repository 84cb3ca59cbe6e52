/**
 * `rlhf generate <pipeline.ts> <node> --prompt "…"`: samples from a model the pipeline produced.
 * The model is the node's cached weights output; the tokenizer is the nearest upstream node with a
 * `tokenizer` output (or `--tokenizer <node>`). TensorFlow.js is loaded only here, lazily.
 */
import * as readline from "node:readline/promises"
import { Pipeline } from "@rlhf/core"
import * as Arrow from "apache-arrow"
import { plan } from "./Plan.ts"
import type { Store } from "./Store.ts"

/** Options of `generate`. */
export interface GenerateOptions {
  readonly set: string[]
  readonly seed: number
  readonly prompt: string[]
  readonly tokenizer?: string
  readonly interactive?: boolean
  readonly maxNewTokens: number
  readonly temperature: number
  readonly topK?: number
  readonly topP?: number
  readonly greedy?: boolean
}

const cachedOutput = (resolved: Pipeline.Resolved, store: Store, seed: number, nodeId: string, want: (name: string, t: Arrow.Table) => boolean) => {
  const planned = plan(resolved, store, { cwd: process.cwd(), seed }).find((n) => n.id === nodeId)
  if (planned === undefined) throw new Error(`no node '${nodeId}'; nodes: ${resolved.nodes.map((n) => n.id).join(", ")}`)
  if (planned.status !== "cached") throw new Error(`node '${nodeId}' has no cached output (${planned.reasons.join("; ")}); run the pipeline first`)
  const entry = store.getEntry(planned.key!)!
  for (const [name, o] of Object.entries(entry.outputs)) {
    const table = Arrow.tableFromIPC(store.getObject(o.hash))
    if (want(name, table)) return table
  }
  return undefined
}

const isWeights = (_: string, t: Arrow.Table) => t.schema.metadata.get("format") === "rlhf-gpt-weights-v1"

/** Runs the command; returns the generated texts. */
export const generate = async (pipeline: Pipeline.Pipeline, store: Store, nodeId: string, o: GenerateOptions): Promise<void> => {
  const resolved = Pipeline.resolveSync(pipeline, o.set)
  const weights = cachedOutput(resolved, store, o.seed, nodeId, isWeights)
  if (weights === undefined) throw new Error(`node '${nodeId}' has no model weights output`)
  const upstream = [...Pipeline.upstreamOf(resolved, nodeId)]
  const tokNode = o.tokenizer ?? resolved.nodes.filter((n) => upstream.includes(n.id) && "tokenizer" in n.stage.outputs).at(-1)?.id
  if (tokNode === undefined) throw new Error(`no tokenizer upstream of '${nodeId}'; name one with --tokenizer <node>`)
  const tokTable = cachedOutput(resolved, store, o.seed, tokNode, (name) => name === "tokenizer")
  if (tokTable === undefined) throw new Error(`node '${tokNode}' has no 'tokenizer' output`)
  const nn = await import("@rlhf/nn")
  const backend = await nn.TensorBackend.resolveBackend({ warn: (m) => process.stderr.write(`warning: ${m}\n`) })
  process.stderr.write(`model ${nodeId} on ${backend.name} ${backend.version}\n`)
  const model = nn.Weights.loadWeights(weights)
  const tok = nn.Tokenizer.tokenizerFromTable(tokTable)
  const reply = (text: string) => {
    const prompt = nn.ChatTemplate.formatPrompt(tok, [{ role: "user", content: text }], { maxTokens: model.config.contextLength - o.maxNewTokens })
    const gen = nn.Generate.generate(model, [prompt.ids], {
      maxNewTokens: o.maxNewTokens, seed: o.seed, temperature: o.temperature, greedy: o.greedy === true,
      ...(o.topK === undefined ? {} : { topK: o.topK }), ...(o.topP === undefined ? {} : { topP: o.topP })
    })
    const ids = gen.tokens[0]!
    return tok.decode(gen.finished[0] ? ids.slice(0, -1) : ids)
  }
  for (const p of o.prompt) process.stdout.write(`${reply(p)}\n`)
  if (o.interactive === true) {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout })
    for (;;) {
      const line = await rl.question("you> ").catch(() => null)
      if (line === null || line.trim() === "/exit") break
      process.stdout.write(`model> ${reply(line)}\n`)
    }
    rl.close()
  }
  nn.Gpt.dispose(model)
}
