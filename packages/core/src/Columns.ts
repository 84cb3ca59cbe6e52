/**
 * Column types: effect Schemas that carry the Arrow type they are stored as.
 *
 * Plain effect schemas map too (`Schema.String` → Utf8, `Schema.Number` → Float64,
 * `Schema.Boolean` → Bool, `Schema.Array(x)` → List, `Schema.Struct` → Struct,
 * `Schema.NullOr(x)` → nullable x, `Schema.Uint8Array` → Binary); these constructors
 * add the narrower Arrow types (float32, int32, int64, fixed-size vectors).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Columns } from "@rlhf/core"
 * const Row = Schema.Struct({ id: Columns.Int32, text: Columns.Utf8, emb: Columns.Vector(4) })
 * ```
 */
import { Schema } from "effect"

/** The annotation key under which a column schema names its Arrow type. */
export const ArrowTypeKey = "rlhf/arrowType"

/** Arrow types a column can name explicitly (the rest follow from the schema's shape). */
export type ArrowTypeName = "float32" | "float64" | "int32" | "int64" | "utf8" | "bool" | "binary" | `vector:${number}`

const tagged = <S extends Schema.Top>(schema: S, name: ArrowTypeName): S =>
  schema.annotate({ [ArrowTypeKey]: name } as never) as S

/** 32-bit float column. */
export const Float32 = tagged(Schema.Number, "float32")
/** 64-bit float column. */
export const Float64 = tagged(Schema.Number, "float64")
/** 32-bit signed integer column. */
export const Int32 = tagged(Schema.Number.check(Schema.isInt32()), "int32")
/** 64-bit signed integer column, read back as a JS number (safe integers only). */
export const Int64 = tagged(Schema.Int, "int64")
/** UTF-8 string column. */
export const Utf8 = tagged(Schema.String, "utf8")
/** Boolean column. */
export const Bool = tagged(Schema.Boolean, "bool")
/** Variable-length binary column. */
export const Binary = tagged(Schema.Uint8Array, "binary")
/** Fixed-size float32 vector column (tensor rows, embeddings). */
export const Vector = (size: number) =>
  tagged(Schema.Array(Schema.Number).check(Schema.isMinLength(size), Schema.isMaxLength(size)), `vector:${size}`)
/** Variable-length list column. */
export const List = <S extends Schema.Top>(item: S) => Schema.Array(item)
/** Nullable column. */
export const Nullable = <S extends Schema.Top>(item: S) => Schema.NullOr(item)
