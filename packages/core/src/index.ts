/**
 * @rlhf/core: the model of a pipeline — column types, typed Arrow tables, stages, pipelines.
 */
export * as ArrowSchema from "./ArrowSchema.ts"
export * as Columns from "./Columns.ts"
export * from "./Errors.ts"
export * as Table from "./Table.ts"
export type { Row, RowSchema } from "./Table.ts"
export * as Pipeline from "./Pipeline.ts"
export type { Builder, Node, OutputRef } from "./Pipeline.ts"
export * from "./Services.ts"
export * as Stage from "./Stage.ts"
export type { AnyStage, Ports, Resources, StageServices, Tables } from "./Stage.ts"
