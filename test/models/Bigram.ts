/**
 * The baseline a pretrained model must beat: a bigram model (next token from the previous one)
 * with add-k smoothing, counted on the training tokens and scored on held-out tokens.
 */

/**
 * Mean held-out negative log-likelihood (nats per token) of the add-k bigram model counted on
 * `train`, for the best k of a small grid: k is chosen on `val` itself, which flatters the
 * baseline, so beating it is a fair test.
 */
export const bigramLoss = (train: Int32Array, val: Int32Array, vocabSize: number): { loss: number; k: number } => {
  const v = vocabSize
  const pairs = new Float64Array(v * v), rows = new Float64Array(v)
  for (let i = 0; i + 1 < train.length; i++) pairs[train[i]! * v + train[i + 1]!]!++, rows[train[i]!]!++
  let best = { loss: Infinity, k: 0 }
  for (const k of [0.003, 0.01, 0.03, 0.1, 0.3, 1]) {
    let nll = 0
    for (let i = 0; i + 1 < val.length; i++) nll -= Math.log((pairs[val[i]! * v + val[i + 1]!]! + k) / (rows[val[i]!]! + k * v))
    const loss = nll / (val.length - 1)
    if (loss < best.loss) best = { loss, k }
  }
  return best
}
