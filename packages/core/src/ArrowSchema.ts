/**
 * The one mapping between effect Schema and Arrow types, used by every table.
 */
import * as Arrow from "apache-arrow"
import { type Schema, SchemaAST } from "effect"
import { ArrowTypeKey, type ArrowTypeName } from "./Columns.ts"
import { SchemaMappingError } from "./Errors.ts"

/** An Arrow field type plus whether the schema admits null. */
export interface ArrowColumnType {
  readonly type: Arrow.DataType
  readonly nullable: boolean
}

const named = (name: ArrowTypeName): Arrow.DataType => {
  switch (name) {
    case "float32": return new Arrow.Float32()
    case "float64": return new Arrow.Float64()
    case "int32": return new Arrow.Int32()
    case "int64": return new Arrow.Int64()
    case "utf8": return new Arrow.Utf8()
    case "bool": return new Arrow.Bool()
    case "binary": return new Arrow.Binary()
  }
  const size = Number(name.slice("vector:".length))
  return new Arrow.FixedSizeList(size, new Arrow.Field("item", new Arrow.Float32(), false))
}

/** The Arrow type of one schema node; `path` names the column for error messages. */
export const arrowTypeOf = (ast: SchemaAST.AST, path: string): ArrowColumnType => {
  const explicit = SchemaAST.resolve(ast)?.[ArrowTypeKey] as ArrowTypeName | undefined
  if (explicit !== undefined) return { type: named(explicit), nullable: false }
  switch (ast._tag) {
    case "String": return { type: new Arrow.Utf8(), nullable: false }
    case "Number": return { type: new Arrow.Float64(), nullable: false }
    case "Boolean": return { type: new Arrow.Bool(), nullable: false }
    case "BigInt": return { type: new Arrow.Int64(), nullable: false }
    case "Literal":
      if (typeof ast.literal === "string") return { type: new Arrow.Utf8(), nullable: false }
      if (typeof ast.literal === "number") return { type: new Arrow.Float64(), nullable: false }
      if (typeof ast.literal === "boolean") return { type: new Arrow.Bool(), nullable: false }
      break
    case "Declaration":
      if (SchemaAST.resolve(ast)?.["expected"] === "Uint8Array") return { type: new Arrow.Binary(), nullable: false }
      break
    case "Arrays": {
      const item = ast.rest[0]
      if (ast.elements.length === 0 && ast.rest.length === 1 && item !== undefined) {
        const inner = arrowTypeOf(item, `${path}[]`)
        return { type: new Arrow.List(new Arrow.Field("item", inner.type, inner.nullable)), nullable: false }
      }
      break
    }
    case "Objects":
      return { type: new Arrow.Struct(fieldsOf(ast, path)), nullable: false }
    case "Union": {
      const nonNull = ast.types.filter((t) => t._tag !== "Null" && t._tag !== "Undefined")
      const first = nonNull[0]
      if (first === undefined) break
      if (nonNull.every((t) => t._tag === "Literal" && typeof t.literal === "string")) {
        return { type: new Arrow.Utf8(), nullable: nonNull.length < ast.types.length }
      }
      if (nonNull.length === 1) return { type: arrowTypeOf(first, path).type, nullable: true }
      break
    }
    case "Suspend":
      return arrowTypeOf(ast.thunk(), path)
  }
  throw new SchemaMappingError({ column: path, schema: ast._tag })
}

/** Arrow fields of a struct schema's properties, in declaration order. */
export const fieldsOf = (ast: SchemaAST.Objects, path = ""): Arrow.Field[] =>
  ast.propertySignatures.map((ps) => {
    const name = String(ps.name)
    const col = arrowTypeOf(ps.type, path === "" ? name : `${path}.${name}`)
    const optional = ps.type.context?.isOptional === true
    return new Arrow.Field(name, col.type, col.nullable || optional)
  })

/** The Arrow schema of a row schema (an effect `Schema.Struct`). */
export const toArrowSchema = (rowSchema: Schema.Top): Arrow.Schema => {
  const ast = rowSchema.ast
  if (ast._tag !== "Objects") throw new SchemaMappingError({ column: "<row>", schema: ast._tag })
  return new Arrow.Schema(fieldsOf(ast))
}
