import { Schema } from "effect"

/** A policy stage cannot run with these inputs or params; the message says why and what to change. */
export class PolicyError extends Schema.TaggedError<PolicyError>()("PolicyError", {
  node: Schema.String,
  reason: Schema.String,
  fix: Schema.String
}) {
  override get message(): string {
    return `${this.node}: ${this.reason}. ${this.fix}`
  }
}
