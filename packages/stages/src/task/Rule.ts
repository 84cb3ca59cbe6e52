import { parsePrompt, type Request } from "./Requests.ts"
import { CATEGORIES, FILLERS } from "./Vocabulary.ts"

const fillers: ReadonlySet<string> = new Set(FILLERS)

/** Quality weights of the ground-truth rule. */
export const RULE = {
  /** Lost per content error (wrong count, wrong/duplicate item, edit), floored at 0. */
  perError: 0.3,
  /** Lost per filler word ("um", "well", ...), not floored. */
  perFiller: 0.3,
  /** Lost when the response does not end with ".", e.g. when it is truncated. */
  missingPeriod: 0.2
} as const

/** The words of a response as the rule sees them: lowercase [a-z0-9]+ runs. */
export const responseWords = (response: string): string[] => response.toLowerCase().match(/[a-z0-9]+/g) ?? []

/** The exact word sequence expected for sequence-like requests (all but List). */
export const expectedWords = (r: Exclude<Request, { _tag: "List" }>): string[] => {
  switch (r._tag) {
    case "Count": return Array.from({ length: Math.max(0, r.to - r.from + 1) }, (_, i) => String(r.from + i))
    case "Greet":
      return r.style === "hi" ? ["hi", r.name] : r.style === "bye" ? ["bye", r.name, "take", "care"] : ["hello", r.name, "nice", "to", "meet", "you"]
    case "Repeat": return Array.from({ length: r.n }, () => r.word)
  }
}

/** Word-level Levenshtein distance. */
export const editDistance = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}

/** List errors: |#items − n| + items outside the category + repeats of an in-category item. */
const listErrors = (r: Extract<Request, { _tag: "List" }>, items: ReadonlyArray<string>): number => {
  const members: ReadonlyArray<string> = CATEGORIES[r.category]
  const seen = new Set<string>()
  let wrong = 0, repeats = 0
  for (const item of items) {
    if (!members.includes(item)) wrong++
    else if (seen.has(item)) repeats++
    else seen.add(item)
  }
  return Math.abs(items.length - r.n) + wrong + repeats
}

/** The content errors of a response to a request (filler words excluded). */
export const contentErrors = (r: Request, response: string): number => {
  const content = responseWords(response).filter((w) => !fillers.has(w))
  return r._tag === "List" ? listErrors(r, content) : editDistance(content, expectedWords(r))
}

/**
 * The ground-truth quality of `response` to `prompt` (deterministic):
 *   max(0, 1 − 0.3·errors) − 0.3·fillers − 0.2·[does not end with "."]
 * A gold response scores 1; each flaw costs, and padding with fillers or rambling
 * makes a response longer and worse. Throws on a prompt that is not the task's.
 */
export const score = (prompt: string, response: string): number => {
  const request = parsePrompt(prompt)
  if (request === undefined) {
    throw new RangeError(`score: "${prompt}" is not a prompt of the default task; use rlPrompts/evalPrompts to get one`)
  }
  const fillerCount = responseWords(response).filter((w) => fillers.has(w)).length
  const correctness = Math.max(0, 1 - RULE.perError * contentErrors(request, response))
  const ended = /\.\s*$/.test(response)
  return correctness - RULE.perFiller * fillerCount - (ended ? 0 : RULE.missingPeriod)
}

/** The evaluation judge: the ground-truth rule itself. */
export const judge = score
