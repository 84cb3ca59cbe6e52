/**
 * `text-corpus`: a source stage that reads plain text files (or JSON collections of texts) as
 * documents of a pretraining corpus.
 */
import { Progress, Stage, StageInfo, Table } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { TextRow } from "../schemas/TextRow.ts"
import { DataFileError } from "./DataErrors.ts"
import { PathParam, pathList, readText } from "./SourceFiles.ts"
import { chunkDocument, jsonDocuments, splitDocuments } from "./TextDocuments.ts"

/**
 * Reads text files (`path`: one file or a list) into `documents`. A plain text file is cut by
 * `split`: "paragraphs" (blocks between blank lines, the default), "lines", or "file" (one
 * document per file); then any document longer than `maxChars` code points (0: no limit) is cut
 * into pieces at line or word breaks. A `.json` file (`format` "auto") or any file under
 * `format` "json" is read as a collection of texts (chinese-poetry style: objects with a
 * `paragraphs` or `content` list of lines, one document each).
 */
export const TextCorpus = Stage.make({
  name: "text-corpus",
  version: "1",
  description: "plain text files (or JSON text collections) as pretraining documents",
  inputs: {},
  outputs: { documents: TextRow },
  params: Schema.Struct({
    path: PathParam,
    format: Schema.Literals(["auto", "text", "json"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("auto" as const))),
    split: Schema.Literals(["paragraphs", "lines", "file"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("paragraphs" as const))),
    maxChars: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).pipe(Schema.withDecodingDefaultKey(Effect.succeed(0)))
  }),
  files: (p) => pathList(p.path),
  run: ({ params }) =>
    Effect.gen(function*() {
      const info = yield* StageInfo
      const progress = yield* Progress
      const files = pathList(params.path)
      const texts: string[] = []
      for (const [i, file] of files.entries()) {
        const text = yield* readText(file)
        const json = params.format === "json" || (params.format === "auto" && /\.json(\.gz)?$/i.test(file))
        const docs = json
          ? jsonDocuments(yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => new DataFileError({ node: info.node, file, reason: `not JSON (${(e as Error).message}); read it as text with --set ${info.node}.format=text` }) }))
          : splitDocuments(text, params.split)
        for (const doc of docs) texts.push(...chunkDocument(doc, params.maxChars))
        yield* Effect.logInfo(`${file}: ${docs.length} documents`)
        progress.update({ done: i + 1, total: files.length, info: file })
      }
      return { documents: Table.fromColumns(TextRow, { text: texts }) }
    })
})
