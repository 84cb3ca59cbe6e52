import { Schema } from "effect"

/**
 * A malformed preference record. `line` is 1-based: the line of a JSONL record, the line where a
 * JSON-array element starts, or the row number of an Arrow table. `field` is a path into the
 * record such as `conversations[2].from`, or `(json)` when the text does not parse at all.
 */
export class PreferenceParseError extends Schema.TaggedError<PreferenceParseError>()("PreferenceParseError", {
  file: Schema.String,
  line: Schema.Number,
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}:${this.line}: field "${this.field}": ${this.reason}. ` +
      `Fix the record, or read with skipInvalid: true to skip it and list it in rejects.`
  }
}

/**
 * Raised by record decoders, which know the field but not the file or line; the reader adds
 * those and turns it into a PreferenceParseError.
 */
export class FieldError extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`)
  }
}
