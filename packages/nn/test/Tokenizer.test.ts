import { tableFromIPC, tableToIPC } from "apache-arrow"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { trainBpe } from "../src/BpeTrainer.ts"
import * as Tokenizer from "../src/Tokenizer.ts"
import { readSharedText } from "./data.ts"

const shakespeare = readSharedText("pretrain/tinyshakespeare.txt")
const zh = "床前明月光，疑是地上霜。举头望明月，低头思故乡。春眠不觉晓，处处闻啼鸟。"
const trainText = shakespeare.slice(0, 200_000) + zh.repeat(500)
const tok = trainBpe([trainText], { vocabSize: 512 })

describe("byte-level BPE", () => {
  it("round-trips arbitrary Unicode (incl. astral and Chinese) with a trained tokenizer", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => tok.decode(tok.encode(s)) === s), { numRuns: 300 })
    fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (s) => tok.decode(tok.encode(s)) === s), { numRuns: 200 })
    expect(tok.decode(tok.encode(zh))).toBe(zh)
    expect(tok.decode(tok.encode("emoji 🤖 and 𝄞 and \u0000 nul"))).toBe("emoji 🤖 and 𝄞 and \u0000 nul")
  })

  it("round-trips with the byte-level tokenizer, one token per UTF-8 byte", () => {
    const bytes = Tokenizer.byteLevel()
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => {
      const ids = bytes.encode(s, { allowSpecial: false })
      return bytes.decode(ids) === s && ids.length === new TextEncoder().encode(s).length
    }), { numRuns: 200 })
  })

  it("encodes special tokens to their fixed single ids, and not when allowSpecial is false", () => {
    Tokenizer.SPECIAL_TOKENS.forEach((s, id) => expect(Array.from(tok.encode(s))).toEqual([id]))
    expect([Tokenizer.EOT, Tokenizer.PAD, Tokenizer.USER, Tokenizer.ASSISTANT, Tokenizer.SYSTEM]).toEqual([0, 1, 2, 3, 4])
    const ids = tok.encode("<|user|>hi there<|endoftext|>")
    expect(ids[0]).toBe(Tokenizer.USER)
    expect(ids[ids.length - 1]).toBe(Tokenizer.EOT)
    expect(tok.decode(ids)).toBe("<|user|>hi there<|endoftext|>")
    const plain = tok.encode("<|user|>", { allowSpecial: false })
    expect(plain.length).toBeGreaterThan(1)
    expect(Array.from(plain).every((i) => i >= Tokenizer.BYTE_OFFSET)).toBe(true)
  })

  it("learns merges that compress the training text", () => {
    expect(tok.vocabSize).toBe(512)
    const sample = shakespeare.slice(300_000, 320_000)
    const bytes = new TextEncoder().encode(sample).length
    expect(bytes / tok.encode(sample).length).toBeGreaterThan(1.5) // held-out text; bytes alone give 1.0
    expect(tok.encode(zh).length).toBeLessThan(new TextEncoder().encode(zh).length / 2)
    expect(tok.decode([tok.encode(" the")[0]!])).toBe(" the") // a frequent word became one token
  })

  it("trains vocab 512 on the 1.1 MB corpus in seconds, deterministically", () => {
    const t0 = performance.now()
    const a = trainBpe([shakespeare], { vocabSize: 512 })
    const seconds = (performance.now() - t0) / 1000
    expect(seconds).toBeLessThan(20)
    expect(a.merges.length).toBe(512 - Tokenizer.FIRST_MERGE)
    expect(trainBpe([shakespeare.slice(0, 100_000)], { vocabSize: 300 }).merges).toEqual(trainBpe([shakespeare.slice(0, 100_000)], { vocabSize: 300 }).merges)
  })

  it("survives an Arrow IPC round trip", () => {
    const table = tableFromIPC(tableToIPC(Tokenizer.tokenizerToTable(tok)))
    expect(table.numRows).toBe(tok.vocabSize)
    const back = Tokenizer.tokenizerFromTable(table)
    expect(back.merges).toEqual(tok.merges)
    expect(Array.from(back.encode(shakespeare.slice(0, 5000)))).toEqual(Array.from(tok.encode(shakespeare.slice(0, 5000))))
    expect(() => Tokenizer.tokenizerFromTable(tableFromIPC(tableToIPC(table.slice(1))))).toThrow(/id/)
  })

  it("rejects a vocabulary smaller than the byte alphabet", () => {
    expect(() => trainBpe(["abc"], { vocabSize: 100 })).toThrow(/261/)
  })
})
