/** Errors of the data stages; each message names the node, the file and how to fix it. */
import { Schema } from "effect"

/**
 * A malformed record in a data file: 1-based `line` (or row), the `field` path inside the
 * record, and what is wrong. `fatal` errors (a broken JSON array, an undetectable format) cannot
 * be skipped, since no record of the file can be trusted.
 */
export class RecordError extends Schema.TaggedError<RecordError>()("RecordError", {
  node: Schema.String,
  file: Schema.String,
  line: Schema.Number,
  field: Schema.String,
  reason: Schema.String,
  fatal: Schema.Boolean
}) {
  override get message(): string {
    const fix = this.fatal
      ? "Fix the file (or name its format with the node's format param)."
      : `Fix the record, or skip malformed records with --set ${this.node}.skipInvalid=true (they are listed in the node's 'rejects' output).`
    return `${this.file}:${this.line}: field "${this.field}": ${this.reason}. ${fix}`
  }
}

/** A data file that cannot be read at all. */
export class DataFileError extends Schema.TaggedError<DataFileError>()("DataFileError", {
  node: Schema.String,
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot read ${this.file}: ${this.reason}. Fix the path (relative to the directory the pipeline runs from) with --set ${this.node}.path=<file>.`
  }
}

/** A tokenizer input that is not a tokenizer table. */
export class TokenizerInputError extends Schema.TaggedError<TokenizerInputError>()("TokenizerInputError", {
  node: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `input 'tokenizer' of node '${this.node}' is not a tokenizer table: ${this.reason}. Wire it to the output of a tokenizer-train stage (a table made by tokenizerToTable).`
  }
}
