import { Schema } from "effect"

/**
 * A model stage (tokenizer-train, pretrain, sft) cannot run with its inputs or params: `reason`
 * says what is wrong, `fix` what to change.
 */
export class ModelError extends Schema.TaggedError<ModelError>()("ModelError", {
  node: Schema.String,
  reason: Schema.String,
  fix: Schema.String
}) {
  override get message(): string {
    return `node '${this.node}': ${this.reason}. ${this.fix}`
  }
}
