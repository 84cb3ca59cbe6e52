import { FieldError } from "./ParseError.ts"

// Small validators for untyped JSON: each names the offending field path so errors point at it.

/** A plain object (not null, not an array). */
export const expectObject = (value: unknown, field: string): Record<string, unknown> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FieldError(field, `expected an object, got ${describe(value)}`)
  }
  return value as Record<string, unknown>
}

/** A string; empty strings are allowed (a tie or short-prompt filter decides what to do with them). */
export const expectString = (value: unknown, field: string): string => {
  if (typeof value !== "string") throw new FieldError(field, `expected a string, got ${describe(value)}`)
  return value
}

/** An array. */
export const expectArray = (value: unknown, field: string): unknown[] => {
  if (!Array.isArray(value)) throw new FieldError(field, `expected an array, got ${describe(value)}`)
  return value
}

/** A string or null/absent, for optional metadata such as annotator and category. */
export const optionalString = (value: unknown, field: string): string | null => {
  if (value === undefined || value === null) return null
  return expectString(value, field)
}

/** A short human-readable description of a JSON value, for error messages. */
export const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`
}
