/** Learning-rate schedules. */

/** Options of {@link warmupCosine}. */
export interface WarmupCosine {
  readonly lr: number
  readonly warmup: number
  readonly total: number
  /** Final learning rate (default lr / 10). */
  readonly minLr?: number
}

/** Linear warm-up to `lr` over `warmup` steps, then cosine decay to `minLr` at step `total`. */
export const warmupCosine = (o: WarmupCosine) => (step: number): number => {
  const minLr = o.minLr ?? o.lr / 10
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup
  if (step >= o.total) return minLr
  const progress = (step - o.warmup) / Math.max(1, o.total - o.warmup)
  return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * progress))
}
