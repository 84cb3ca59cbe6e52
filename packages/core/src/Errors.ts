/**
 * The engine's typed errors. Each message says what is wrong, where, and how to fix it.
 */
import { Schema } from "effect"

/** A schema node that has no Arrow counterpart. */
export class SchemaMappingError extends Schema.TaggedError<SchemaMappingError>()("SchemaMappingError", {
  column: Schema.String,
  schema: Schema.String
}) {
  override get message() {
    return `column '${this.column}': a ${this.schema} schema has no Arrow type; use a Columns.* type, Schema.Struct, Schema.Array or Schema.NullOr`
  }
}

/** A table whose columns or values do not match its row schema. */
export class TableDecodeError extends Schema.TaggedError<TableDecodeError>()("TableDecodeError", {
  table: Schema.String,
  column: Schema.String,
  row: Schema.NullOr(Schema.Number),
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message() {
    const where = this.row === null ? `column '${this.column}'` : `column '${this.column}', row ${this.row}`
    return `table '${this.table}', ${where}: expected ${this.expected}, got ${this.actual}`
  }
}

/** What can be wrong with a pipeline's graph before anything runs. */
export const GraphErrorKind = Schema.Literals([
  "duplicate-id",
  "unknown-node",
  "unknown-output",
  "missing-input",
  "unknown-input",
  "schema-mismatch",
  "cycle"
])

/** A pipeline graph that cannot run. */
export class GraphError extends Schema.TaggedError<GraphError>()("GraphError", {
  kind: GraphErrorKind,
  node: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `pipeline graph: ${this.kind} at node '${this.node}': ${this.detail}`
  }
}

/** A param value (from the pipeline file or `--set`) that its schema rejects. */
export class ParamError extends Schema.TaggedError<ParamError>()("ParamError", {
  node: Schema.String,
  param: Schema.String,
  expected: Schema.String,
  value: Schema.String
}) {
  override get message() {
    return `node '${this.node}', param '${this.param}': ${this.expected} (got ${this.value})`
  }
}

/** A stage whose run failed; `reason` carries the stage's own message. */
export class StageError extends Schema.TaggedError<StageError>()("StageError", {
  node: Schema.String,
  stage: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `stage '${this.stage}' (node '${this.node}') failed: ${this.reason}`
  }
}
