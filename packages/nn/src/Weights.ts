/**
 * Model weights as an Arrow table, one row per tensor:
 *   name (Utf8), shape (List<Int32>), dtype (Utf8, always "float32"), values (List<Float32>).
 * Schema metadata: `format` = "rlhf-gpt-weights-v1", `config` = the Gpt.Config as JSON,
 * `head` = the head kind ("lm" | "value" | "reward").
 */
import * as tf from "@tensorflow/tfjs-core"
import * as arrow from "apache-arrow"
import { column, listCell, listData, makeTable } from "./ArrowTable.ts"
import * as Gpt from "./Gpt.ts"

const FORMAT = "rlhf-gpt-weights-v1"

/** The model's weights as a table (values copied out of the backend). */
export const weightsToTable = (model: Gpt.Model): arrow.Table => {
  const names = [...model.params.keys()]
  const vars = names.map((n) => model.params.get(n)!)
  return makeTable(
    [
      ["name", arrow.vectorFromArray(names, new arrow.Utf8()).data[0]!],
      ["shape", listData(new arrow.Int32(), vars.map((v) => v.shape))],
      ["dtype", arrow.vectorFromArray(vars.map((v) => v.dtype), new arrow.Utf8()).data[0]!],
      ["values", listData(new arrow.Float32(), vars.map((v) => v.dataSync() as Float32Array))]
    ],
    { format: FORMAT, config: JSON.stringify(model.config), head: model.head }
  )
}

/** Config and head kind stored in a weights table. */
export const tableConfig = (table: arrow.Table): { config: Gpt.Config; head: Gpt.Head } => {
  const meta = table.schema.metadata
  if (meta.get("format") !== FORMAT) throw new Error(`loadWeights: schema metadata format is "${meta.get("format")}", expected "${FORMAT}"`)
  const head = meta.get("head") as Gpt.Head
  const c = JSON.parse(meta.get("config") ?? "null") as Gpt.Config | null
  if (c === null) throw new Error("loadWeights: schema metadata has no config")
  return { config: { vocabSize: c.vocabSize, dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads, contextLength: c.contextLength }, head }
}

const sameConfig = (a: Gpt.Config, b: Gpt.Config) =>
  a.vocabSize === b.vocabSize && a.dModel === b.dModel && a.nLayers === b.nLayers && a.nHeads === b.nHeads && a.contextLength === b.contextLength

/**
 * Builds a model from a weights table. Checks the stored config against `expectedConfig` (if
 * given) and every tensor's name and shape against the architecture; errors name the tensor and
 * both shapes.
 */
export const loadWeights = (table: arrow.Table, expectedConfig?: Gpt.Config): Gpt.Model => {
  const { config, head } = tableConfig(table)
  if (expectedConfig !== undefined && !sameConfig(config, expectedConfig)) {
    throw new Error(`loadWeights: table config ${JSON.stringify(config)} differs from expected ${JSON.stringify(expectedConfig)}`)
  }
  const expected = new Map(Gpt.paramShapes(config, head))
  const nameCol = column(table, "name", "loadWeights"), shapeCol = column(table, "shape", "loadWeights")
  const dtypeCol = column(table, "dtype", "loadWeights"), valuesCol = column(table, "values", "loadWeights")
  const rows = new Map<string, number>()
  for (let row = 0; row < table.numRows; row++) {
    const name = nameCol.get(row) as string
    const want = expected.get(name)
    if (want === undefined) throw new Error(`loadWeights: tensor "${name}" is not a parameter of a ${head} model with config ${JSON.stringify(config)}`)
    const shape = Array.from(listCell(shapeCol, row))
    if (!tf.util.arraysEqual(shape, want)) throw new Error(`loadWeights: tensor "${name}" has shape [${shape}] in the table but the model expects [${want}]`)
    if (dtypeCol.get(row) !== "float32") throw new Error(`loadWeights: tensor "${name}" has dtype ${dtypeCol.get(row)}, expected float32`)
    rows.set(name, row)
  }
  const missing = [...expected.keys()].filter((n) => !rows.has(n))
  if (missing.length > 0) throw new Error(`loadWeights: table lacks tensors ${missing.join(", ")}`)
  const model = Gpt.init(config, { head })
  for (const [name, v] of model.params) {
    const values = listCell(valuesCol, rows.get(name)!)
    if (values.length !== v.size) throw new Error(`loadWeights: tensor "${name}" has ${values.length} values, shape [${v.shape}] needs ${v.size}`)
    tf.tidy(() => v.assign(tf.tensor(values as Float32Array, v.shape, "float32")))
  }
  return model
}
