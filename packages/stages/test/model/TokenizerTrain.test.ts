import { Table } from "@rlhf/core"
import * as Prng from "@rlhf/nn/Prng"
import * as Tokenizer from "@rlhf/nn/Tokenizer"
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { sampleTexts, TokenizerTrain } from "../../src/model/TokenizerTrain.ts"
import { metricRows, runModelStage, tableHash, textTable, toyCorpus } from "./ModelHarness.ts"

const corpus = textTable(toyCorpus(300))

describe("tokenizer-train", () => {
  it("trains a tokenizer table nn can load, with the requested vocabulary", async () => {
    const { outputs } = await runModelStage(TokenizerTrain, { texts: corpus }, { vocabSize: 300 })
    const table = outputs.tokenizer
    expect(table.numRows).toBe(300)
    expect(Table.metadata(table)["format"]).toBe("rlhf-bpe-v1")
    const tok = Tokenizer.tokenizerFromTable(table.arrow)
    expect(tok.vocabSize).toBe(300)
    const text = "the quiet ship follows the king. <|endoftext|> ünïcode ✓"
    expect(tok.decode(tok.encode(text, { allowSpecial: false }))).toBe(text)
    // Merges learned from this corpus compress its words: "the" is one token.
    expect(tok.encode(" the", { allowSpecial: false }).length).toBe(1)
    const bytesPerToken = metricRows(outputs.metrics, "bytesPerToken")[0]!.value
    expect(bytesPerToken).toBeGreaterThan(2.5)
    expect(metricRows(outputs.metrics, "merges")[0]!.value).toBe(300 - Tokenizer.FIRST_MERGE)
    expect(metricRows(outputs.metrics, "documentsUsed")[0]!.value).toBe(300)
  })

  it("is deterministic: the same inputs and params give the same bytes", async () => {
    const a = await runModelStage(TokenizerTrain, { texts: corpus }, { vocabSize: 280 })
    const b = await runModelStage(TokenizerTrain, { texts: corpus }, { vocabSize: 280 })
    expect(tableHash(a.outputs.tokenizer)).toBe(tableHash(b.outputs.tokenizer))
  })

  it("caps the training text at maxChars, sampling whole documents from the whole corpus", async () => {
    const texts = toyCorpus(400, 7)
    const total = texts.reduce((n, t) => n + t.length, 0)
    const capped = sampleTexts(texts, 2000, 5, Prng)
    expect(capped.chars).toBe(2000)
    expect(capped.texts.join("").length).toBe(2000)
    // Drawn from all over the corpus, not just its head; every piece but the last is a whole document.
    const positions = capped.texts.slice(0, -1).map((t) => texts.indexOf(t))
    expect(positions.every((i) => i >= 0)).toBe(true)
    expect(Math.max(...positions)).toBeGreaterThan(200)
    expect(sampleTexts(texts, 2000, 5, Prng)).toEqual(capped)
    expect(sampleTexts(texts, 2000, 6, Prng).texts).not.toEqual(capped.texts)
    expect(sampleTexts(texts, total, 5, Prng).texts).toEqual(texts)

    const { outputs } = await runModelStage(TokenizerTrain, { texts: textTable(texts) }, { vocabSize: 280, maxChars: 2000 })
    expect(metricRows(outputs.metrics, "charsUsed")[0]!.value).toBe(2000)
    expect(metricRows(outputs.metrics, "documents")[0]!.value).toBe(400)
    expect(metricRows(outputs.metrics, "documentsUsed")[0]!.value).toBeLessThan(400)
  })

  it("stops below vocabSize when pairs run out, and rejects a vocabulary without room for the bytes", async () => {
    const { outputs } = await runModelStage(TokenizerTrain, { texts: textTable(["abab"]) }, { vocabSize: 400 })
    expect(outputs.tokenizer.numRows).toBeLessThan(270)
    expect(() => Schema.decodeUnknownSync(TokenizerTrain.params)({ vocabSize: 200 })).toThrow(/261/)
  })

  it("runs isolated on one CPU slot", () => {
    expect(TokenizerTrain.isolate).toBe(true)
  })
})
