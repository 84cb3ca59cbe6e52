/**
 * An example pipeline of pure-CPU stages: count the words of a text file and keep the top ones.
 * It shows a stage defined in the pipeline file itself, params (try `--set top.n=3`), a reused
 * stage as two nodes, a group (ids `stats/…`), and caching (run it twice; edit data/words.txt).
 *
 *   pnpm rlhf run pipelines/examples/wordcount.ts
 *   pnpm rlhf plan pipelines/examples/wordcount.ts --set top.n=3
 *   pnpm rlhf show pipelines/examples/wordcount.ts top
 */
import * as path from "node:path"
import { Columns, Pipeline, Stage, Table } from "@rlhf/core"
import { ReadText } from "@rlhf/stages/io/ReadText"
import { Effect, Schema } from "effect"

const Line = Schema.Struct({ line: Columns.Utf8 })
const WordCount = Schema.Struct({ word: Columns.Utf8, count: Columns.Int32 })

/** Counts words (lower-cased, letters only). */
const CountWords = Stage.make({
  name: "count-words",
  version: "1",
  inputs: { lines: Line },
  outputs: { counts: WordCount },
  params: Schema.Struct({ minLength: Schema.Int.pipe(Schema.withDecodingDefaultKey(Effect.succeed(1))) }),
  run: ({ inputs, params }) =>
    Effect.sync(() => {
      const counts = new Map<string, number>()
      for (const line of Table.columnValues(inputs.lines, "line")) {
        for (const w of line.toLowerCase().match(/\p{L}+/gu) ?? []) {
          if (w.length >= params.minLength) counts.set(w, (counts.get(w) ?? 0) + 1)
        }
      }
      const rows = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      return { counts: Table.fromColumns(WordCount, { word: rows.map((r) => r[0]), count: rows.map((r) => r[1]) }) }
    })
})

/** Keeps the `n` most frequent words. */
const TopWords = Stage.make({
  name: "top-words",
  version: "1",
  inputs: { counts: WordCount },
  outputs: { top: WordCount },
  params: Schema.Struct({ n: Schema.Int.pipe(Schema.withDecodingDefaultKey(Effect.succeed(5))) }),
  run: ({ inputs, params }) =>
    Effect.sync(() => ({ top: Table.make(WordCount, Table.toRows(inputs.counts).slice(0, params.n)) }))
})

/** Vocabulary size and total word count. */
const Totals = Stage.make({
  name: "totals",
  version: "1",
  inputs: { counts: WordCount },
  outputs: { totals: Schema.Struct({ words: Columns.Int32, vocabulary: Columns.Int32 }) },
  params: Schema.Struct({}),
  run: ({ inputs }) =>
    Effect.sync(() => {
      const counts = Table.columnValues(inputs.counts, "count")
      const totals = Schema.Struct({ words: Columns.Int32, vocabulary: Columns.Int32 })
      return { totals: Table.make(totals, [{ words: counts.reduce((a, b) => a + b, 0), vocabulary: counts.length }]) }
    })
})

export default Pipeline.make("wordcount", (p) => {
  const text = p.add("text", ReadText, { params: { path: path.relative(process.cwd(), path.join(import.meta.dirname, "data/words.txt")) } })
  const counts = p.add("counts", CountWords, { inputs: { lines: text.out.lines } })
  p.add("top", TopWords, { inputs: { counts: counts.out.counts } })
  // A group: its nodes are `stats/long-words` and `stats/totals`; the same stage again, other params.
  p.group("stats", (g) => {
    const long = g.add("long-words", CountWords, { inputs: { lines: text.out.lines }, params: { minLength: 7 } })
    g.add("totals", Totals, { inputs: { counts: long.out.counts } })
  })
})
