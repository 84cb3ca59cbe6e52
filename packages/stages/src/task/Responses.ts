import { expectedWords } from "./Rule.ts"
import type { Request } from "./Requests.ts"
import type { Rng } from "./Rng.ts"
import { CATEGORIES, CATEGORY_NAMES, FILLERS, NAMES, RAMBLES, REPEAT_WORDS } from "./Vocabulary.ts"

/** A response before rendering: words joined by `sep`, an optional tail, a final period. */
interface Draft {
  readonly tokens: string[]
  readonly sep: string
  tail: string
}

const render = (d: Draft): string => d.tokens.join(d.sep) + (d.tail === "" ? "" : ` ${d.tail}`)

/** The gold draft: a correct answer in the task's template. */
const goldDraft = (r: Request, rng: Rng): Draft => {
  switch (r._tag) {
    case "List": return { tokens: rng.shuffle(CATEGORIES[r.category]).slice(0, r.n), sep: ", ", tail: "" }
    case "Count":
    case "Repeat": return { tokens: expectedWords(r), sep: " ", tail: "" }
    case "Greet": {
      // "hello ann, nice to meet you." — the comma rides on the name token.
      const words = expectedWords(r)
      if (words.length > 2) words[1] = `${words[1]},`
      return { tokens: words, sep: " ", tail: "" }
    }
  }
}

/** A correct response to the request (one of several for List), seeded. */
export const goldResponse = (r: Request, rng: Rng): string => `${render(goldDraft(r, rng))}.`

const otherThan = <T>(rng: Rng, items: ReadonlyArray<T>, not: T): T => rng.pick(items.filter((x) => x !== not))

/** Something plausible but wrong in the slot of token i; never a word the answer expects, so it cannot undo another flaw. */
const wrongToken = (r: Request, d: Draft, i: number, rng: Rng): string => {
  const current = d.tokens[i]!
  const unexpected = (words: ReadonlyArray<string>) => {
    const expected = r._tag === "List" ? [] : expectedWords(r)
    return rng.pick(words.filter((w) => !expected.includes(w)))
  }
  switch (r._tag) {
    case "List": return rng.pick(CATEGORIES[otherThan(rng, CATEGORY_NAMES, r.category)])
    case "Count": return unexpected(["1", "2", "3", "4", "5", "6", "7", "8", "9"])
    case "Repeat": return otherThan(rng, REPEAT_WORDS, r.word)
    case "Greet":
      return current.includes(r.name)
        ? current.replace(r.name, otherThan(rng, NAMES, r.name))
        : unexpected(["hi", "hello", "bye", "you", "care", "nice", "meet"])
  }
}

/** A token that would extend the answer: the next number, an unused item, another repeat. */
const extraToken = (r: Request, d: Draft, rng: Rng): string => {
  switch (r._tag) {
    case "List": {
      const unused = CATEGORIES[r.category].filter((x) => !d.tokens.includes(x))
      return unused.length > 0 ? rng.pick(unused) : rng.pick(CATEGORIES[r.category])
    }
    case "Count": return String(r.to + 1)
    case "Repeat": return r.word
    case "Greet": return rng.pick(["today", "again", "friend"])
  }
}

/** The kinds of flaw an imperfect writer makes, with their relative frequencies. */
export const FLAWS = {
  /** One item too many or too few. */
  wrongCount: 1,
  /** An item repeated in place of another. */
  duplicate: 1,
  /** An item from the wrong category / a wrong number, word or name. */
  wrongItem: 1,
  /** Filler words ("um", "well") inserted: longer and worse. */
  filler: 1.0,
  /** A rambling tail ("and so on"): longer and worse. */
  ramble: 0.6,
  /** Cut off mid-answer, no final period: shorter and worse. */
  truncate: 1.2
} as const

/** A flaw name. */
export type Flaw = keyof typeof FLAWS

const FLAW_NAMES = Object.keys(FLAWS) as Flaw[]

const applyFlaw = (flaw: Exclude<Flaw, "truncate">, r: Request, d: Draft, rng: Rng): void => {
  const i = rng.int(0, d.tokens.length - 1)
  switch (flaw) {
    case "wrongCount":
      if (d.tokens.length > 1 && rng.chance(0.5)) d.tokens.splice(r._tag === "List" ? i : d.tokens.length - 1, 1)
      else d.tokens.push(extraToken(r, d, rng))
      return
    case "duplicate":
      // A "repeat" answer is all duplicates already: it stutters two extra words instead.
      if (r._tag === "Repeat") d.tokens.push(r.word, r.word)
      else if (d.tokens.length < 2) d.tokens.push(d.tokens[0]!.replace(",", ""))
      else d.tokens[i] = d.tokens[otherThan(rng, d.tokens.map((_, j) => j), i)]!.replace(",", "")
      return
    case "wrongItem":
      d.tokens[i] = wrongToken(r, d, i, rng)
      return
    case "filler":
      for (let k = rng.chance(0.7) ? 1 : 2; k > 0; k--) d.tokens.splice(rng.int(0, d.tokens.length), 0, rng.pick(FILLERS))
      return
    case "ramble":
      d.tail = rng.pick(RAMBLES)
      return
  }
}

/**
 * A response from the imperfect writer: gold with probability `goldShare`, else one
 * flaw (or two, a quarter of the time) drawn by {@link FLAWS}. Truncation cuts the
 * rendered text at 35–85% of its length and drops the final period.
 */
export const sampleResponse = (r: Request, rng: Rng, goldShare: number): { readonly response: string; readonly flaws: Flaw[] } => {
  const d = goldDraft(r, rng)
  if (rng.chance(goldShare)) return { response: `${render(d)}.`, flaws: [] }
  const flaws: Flaw[] = []
  for (let k = rng.chance(0.25) ? 2 : 1; k > 0; k--) {
    const flaw = FLAW_NAMES[rng.weighted(FLAW_NAMES.map((f) => FLAWS[f]))]!
    if (!flaws.includes(flaw)) flaws.push(flaw)
  }
  // Content flaws first, then fillers, tail and truncation (the FLAWS order), so a
  // later flaw never undoes an earlier one (e.g. dropping the inserted filler).
  flaws.sort((a, b) => FLAW_NAMES.indexOf(a) - FLAW_NAMES.indexOf(b))
  for (const flaw of flaws) if (flaw !== "truncate") applyFlaw(flaw, r, d, rng)
  const text = render(d)
  if (!flaws.includes("truncate")) return { response: `${text}.`, flaws }
  const cut = Math.max(1, Math.floor(text.length * (0.35 + 0.5 * rng.next())))
  return { response: text.slice(0, cut).trimEnd(), flaws }
}
