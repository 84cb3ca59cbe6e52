import { Columns } from "@rlhf/core"
import { Schema } from "effect"

/**
 * One tensor of a model's weights, exactly the columns of `@rlhf/nn/Weights`' `weightsToTable`:
 * `name`, `shape`, `dtype` (always "float32") and the flattened `values`. The table's schema
 * metadata carries `format` = "rlhf-gpt-weights-v1", the model `config` (JSON) and its `head`
 * ("lm" | "value" | "reward"); build the model back with `loadWeights`.
 */
export const WeightsRow = Schema.Struct({
  name: Columns.Utf8,
  shape: Columns.List(Columns.Int32),
  dtype: Columns.Utf8,
  values: Columns.List(Columns.Float32)
})
