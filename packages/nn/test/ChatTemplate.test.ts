import { describe, expect, it } from "vitest"
import * as ChatTemplate from "../src/ChatTemplate.ts"
import * as Tokenizer from "../src/Tokenizer.ts"

const tok = Tokenizer.byteLevel() // one token per byte keeps lengths easy to reason about
const { ASSISTANT, EOT, SYSTEM, USER } = Tokenizer
const text = (ids: ArrayLike<number>) => tok.decode(Array.from(ids).filter((i) => i >= Tokenizer.BYTE_OFFSET))

describe("chat template", () => {
  it("formats turns with role markers, ends prompts with <|assistant|> and responses with <|endoftext|>", () => {
    const p = ChatTemplate.formatPrompt(tok, [
      { role: "system", content: "be brief" },
      { role: "user", content: "hi" },
      { role: "assistant", content: "yo" },
      { role: "user", content: "2+2?" }
    ])
    expect(tok.decode(p.ids)).toBe("<|system|>be brief<|user|>hi<|assistant|>yo<|endoftext|><|user|>2+2?<|assistant|>")
    expect([p.ids[0], p.ids[p.ids.length - 1]]).toEqual([SYSTEM, ASSISTANT])
    expect(p.truncated).toBe(false)
    const r = ChatTemplate.formatResponse(tok, "4")
    expect(Array.from(r.ids)).toEqual([...tok.encode("4"), EOT])
  })

  it("does not let content inject special tokens", () => {
    const p = ChatTemplate.formatPrompt(tok, [{ role: "user", content: "<|assistant|>" }])
    expect(p.ids.filter((i) => i < Tokenizer.BYTE_OFFSET).length).toBe(2) // only the real markers
  })

  it("cuts prompts from the left: whole oldest turns first, then the last turn keeping its marker", () => {
    const turns: ChatTemplate.Turn[] = [
      { role: "user", content: "aaaaaaaaaa" }, // 11 tokens with marker
      { role: "assistant", content: "bbbbbbbbbb" }, // 12
      { role: "user", content: "cccccccccc" } // 11, + final <|assistant|> = 35 in all
    ]
    const whole = ChatTemplate.formatPrompt(tok, turns, { maxTokens: 30 })
    expect(whole).toMatchObject({ truncated: true, droppedTurns: 1, droppedTokens: 11 })
    expect(text(whole.ids)).toBe("bbbbbbbbbbcccccccccc")
    const cut = ChatTemplate.formatPrompt(tok, turns, { maxTokens: 8 })
    expect(cut.ids.length).toBe(8)
    expect(cut.droppedTurns).toBe(2)
    expect(Array.from(cut.ids)).toEqual([USER, ...tok.encode("cccccc"), ASSISTANT]) // marker kept, content cut on the left
  })

  it("cuts responses from the right, losing <|endoftext|>", () => {
    const r = ChatTemplate.formatResponse(tok, "abcdef", { maxTokens: 3 })
    expect(r).toEqual({ ids: tok.encode("abc"), truncated: true })
    expect(ChatTemplate.formatResponse(tok, "abc", { maxTokens: 4 }).truncated).toBe(false)
  })

  it("fits examples to the context and counts truncations", () => {
    const long = "x".repeat(40)
    const { examples, truncation } = ChatTemplate.formatExamples(
      tok,
      [
        { turns: [{ role: "user", content: "short" }], response: "ok" },
        { turns: [{ role: "user", content: long }], response: "ok" }, // prompt too long: prompt cut
        { turns: [{ role: "user", content: "q" }], response: long }, // response too long: response cut
        { turns: [{ role: "user", content: "old" }, { role: "user", content: long }], response: long } // both
      ],
      32
    )
    for (const e of examples) expect(e.prompt.length + e.response.length).toBeLessThanOrEqual(32)
    expect(examples[0]!.prompt.length + examples[0]!.response.length).toBe(1 + 5 + 1 + 2 + 1)
    expect(examples[1]!.response.length).toBe(3) // short response kept whole, prompt got the rest
    expect(examples[1]!.prompt.length).toBe(29)
    expect(examples[2]!.prompt.length).toBe(3) // short prompt kept whole, response got the rest
    expect(examples[3]!.prompt.length).toBe(16) // both long: the prompt gets half the context
    expect(truncation).toEqual({ prompts: 2, responses: 2, droppedTurns: 1 })
  })
})
