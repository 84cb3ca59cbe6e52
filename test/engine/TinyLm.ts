/**
 * A scratch project for end-to-end model tests: a small corpus and `tiny.ts`, a pipeline of
 * corpus → tokenizer (`tok`) → pretrain nodes, and a reader of the store's entries.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { scratch } from "./Cli.ts"

/** Pretrain params small enough for a test: tiny model, a few steps, no evaluation. */
export interface TinyPretrain {
  readonly node: string
  readonly params: Readonly<Record<string, number>>
}

/** A scratch folder holding `corpus.txt` and `tiny.ts`, with one pretrain node per entry of `pretrain`. */
export const tinyLmProject = (pretrain: ReadonlyArray<TinyPretrain>): string => {
  const dir = scratch()
  const words = "the quick brown fox jumps over the lazy dog and the cat sat on the mat".split(" ")
  const docs = Array.from({ length: 60 }, (_, i) => Array.from({ length: 24 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(" "))
  fs.writeFileSync(path.join(dir, "corpus.txt"), docs.join("\n\n"))
  fs.writeFileSync(path.join(dir, "tiny.ts"), [
    `import { Pipeline } from "@rlhf/core"`,
    `import { TextCorpus } from "@rlhf/stages/data/TextCorpus"`,
    `import { Pretrain } from "@rlhf/stages/model/Pretrain"`,
    `import { TokenizerTrain } from "@rlhf/stages/model/TokenizerTrain"`,
    `export default Pipeline.make("tiny-lm", (p) => {`,
    `  const c = p.add("corpus", TextCorpus, { params: { path: "corpus.txt" } })`,
    `  const t = p.add("tok", TokenizerTrain, { inputs: { texts: c.out.documents }, params: { vocabSize: 270 } })`,
    ...pretrain.map(({ node, params }) =>
      `  p.add(${JSON.stringify(node)}, Pretrain, { inputs: { corpus: c.out.documents, tokenizer: t.out.tokenizer }, params: ${JSON.stringify({ evalEvery: 0, warmupSteps: 0, ...params })} })`
    ),
    `})`
  ].join("\n"))
  return dir
}

/** A store entry as the runner writes it (`.rlhf/entries/*.json`). */
export interface StoreEntry {
  readonly node: string
  readonly lineage: Record<string, unknown>
  readonly outputs: Record<string, { readonly hash: string }>
}

/** Every entry in the project's default store, oldest first by file name order. */
export const storeEntries = (dir: string): StoreEntry[] =>
  fs.readdirSync(path.join(dir, ".rlhf/entries")).map((f) => JSON.parse(fs.readFileSync(path.join(dir, ".rlhf/entries", f), "utf8")) as StoreEntry)
