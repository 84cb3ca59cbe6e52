import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Table } from "@rlhf/core"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { TextCorpus } from "../../src/data/TextCorpus.ts"
import { chunkDocument, splitDocuments } from "../../src/data/TextDocuments.ts"
import { runStage, sharedData } from "./RunStage.ts"

const pretrain = (name: string) => join(sharedData(), "pretrain", name)

describe("text-corpus on tinyshakespeare", () => {
  const file = pretrain("tinyshakespeare.txt")
  const text = readFileSync(file, "utf8")

  it("cuts it into paragraphs (speeches) that rejoin to the whole text", async () => {
    const docs = Table.columnValues((await runStage(TextCorpus, {}, { path: file })).documents, "text")
    // Independent count: maximal runs of non-blank lines.
    let runs = 0
    text.split("\n").reduce((inRun, line) => {
      const blank = line.trim() === ""
      if (!blank && !inRun) runs++
      return !blank
    }, false)
    expect(docs).toHaveLength(runs)
    expect(runs).toBeGreaterThan(7000)
    // Nothing is lost but the extra blank lines between speeches (the text has a few triple newlines).
    expect(docs.join("\n\n")).toBe(text.trimEnd().replace(/\n{3,}/g, "\n\n"))
    expect(docs[0]).toBe("First Citizen:\nBefore we proceed any further, hear me speak.")
  })

  it("with maxChars, no document is longer and nothing is lost", async () => {
    const docs = Table.columnValues((await runStage(TextCorpus, {}, { path: file, split: "file", maxChars: 4000 })).documents, "text")
    expect(docs.length).toBeGreaterThanOrEqual(Math.ceil(text.trimEnd().length / 4000))
    expect(docs.length).toBeLessThan(2 * Math.ceil(text.length / 4000))
    for (const d of docs) expect(Array.from(d).length).toBeLessThanOrEqual(4000)
    expect(docs.join("")).toBe(text.trimEnd())
  })
})

describe("text-corpus on chinese-poetry JSON", () => {
  it("takes one document per poem or chapter", async () => {
    const raw = (name: string) => JSON.parse(readFileSync(pretrain(`chinese-poetry/${name}.json`), "utf8")) as never
    const lunyu = raw("lunyu") as Array<{ paragraphs: string[] }>
    const shijing = raw("shijing") as Array<{ content: string[] }>
    const tang = raw("tangshisanbaishou") as { content: Array<{ content: Array<{ paragraphs: string[] }> }> }
    const out = await runStage(TextCorpus, {}, { path: ["lunyu", "shijing", "tangshisanbaishou"].map((n) => pretrain(`chinese-poetry/${n}.json`)) })
    const docs = Table.columnValues(out.documents, "text")
    const tangPoems = tang.content.flatMap((c) => c.content)
    expect(docs).toHaveLength(lunyu.length + shijing.length + tangPoems.length)
    expect(docs[0]).toBe(lunyu[0]!.paragraphs.join("\n"))
    expect(docs[lunyu.length]).toBe(shijing[0]!.content.join("\n"))
    expect(docs.at(-1)).toBe(tangPoems.at(-1)!.paragraphs.join("\n"))
  })
})

describe("document splitting", () => {
  it("splits by blank lines (with spaces or CRLF), lines, or not at all", async () => {
    const dir = mkdtempSync(join(tmpdir(), "corpus-"))
    writeFileSync(join(dir, "a.txt"), "\n\none\ntwo\r\n  \r\nthree\n\n\n\n  four\n")
    expect(Table.columnValues((await runStage(TextCorpus, {}, { path: "a.txt" }, dir)).documents, "text")).toEqual(["one\ntwo", "three", "  four"])
    expect(splitDocuments("a\n\nb\nc\n", "lines")).toEqual(["a", "b", "c"])
    expect(splitDocuments("a\n\nb\n", "file")).toEqual(["a\n\nb"])
  })

  it("chunks rejoin to the document, within maxChars, cutting at line breaks where there are some", () => {
    expect(chunkDocument("aaaa\nbbbb\ncccc", 10)).toEqual(["aaaa\nbbbb\n", "cccc"])
    expect(chunkDocument("一二三四五六七", 3)).toEqual(["一二三", "四五六", "七"])
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom("a", "b", " ", "\n", "字", "😀"), minLength: 1, maxLength: 200 }).filter((s) => s.trim() !== ""), fc.integer({ min: 1, max: 30 }), (doc, max) => {
      const pieces = chunkDocument(doc, max)
      for (const p of pieces) expect(Array.from(p).length).toBeLessThanOrEqual(max)
      // Pieces are consecutive slices of the document; only whitespace-only pieces are dropped.
      let at = 0
      for (const p of pieces) {
        const found = doc.indexOf(p, at)
        expect(doc.slice(at, found).trim()).toBe("")
        at = found + p.length
      }
      expect(doc.slice(at).trim()).toBe("")
    }))
  })
})
