/**
 * Draws a run: a live progress bar per running stage (count and ETA) on a terminal, and plain
 * timestamped lines when output is not a terminal (CI, pipes).
 */
import type { SingleBar } from "cli-progress"
import type { NodeOutcome, Reporter } from "./Reporter.ts"

const stamp = () => new Date().toISOString().slice(11, 19)

/** A reporter that writes plain lines to stderr, one per event (progress at most every 2 s a node). */
export const plainReporter = (options: { readonly verbose?: boolean } = {}): Reporter => {
  const lastProgress = new Map<string, number>()
  const line = (s: string) => process.stderr.write(`${stamp()} ${s}\n`)
  return {
    start: (node, info) => line(`start ${node}${info.device === null ? "" : ` on gpu ${info.device}`}: ${info.why.join("; ")}`),
    progress: (node, u) => {
      const now = Date.now()
      if (u.done < u.total && now - (lastProgress.get(node) ?? 0) < 2000) return
      lastProgress.set(node, now)
      line(`${node} ${u.done}/${u.total}${u.info === undefined ? "" : ` ${u.info}`}`)
    },
    log: (node, l) => {
      if (options.verbose === true) line(`${node} | ${l}`)
    },
    finish: (o: NodeOutcome) => {
      if (o.status !== "cached") line(`${o.status} ${o.id} (${o.ms} ms)${o.reason === undefined ? "" : `: ${o.reason}`}`)
    },
    warn: (m) => line(`warning: ${m}`)
  }
}

/** A reporter that draws one bar per running stage on a terminal (cli-progress is loaded only for it). */
export const terminalReporter = async (): Promise<Reporter> => {
  const { default: cliProgress } = await import("cli-progress")
  const bars = new cliProgress.MultiBar({
    format: " {node} [{bar}] {value}/{total} | ETA {eta_formatted} | {info}",
    hideCursor: true,
    clearOnComplete: false,
    stream: process.stderr
  }, cliProgress.Presets.shades_classic)
  const live = new Map<string, SingleBar>()
  const say = (s: string) => bars.log(`${s}\n`)
  return {
    start: (node, info) => {
      say(`start ${node}: ${info.why.join("; ")}`)
      live.set(node, bars.create(1, 0, { node, info: "" }))
    },
    progress: (node, u) => {
      const bar = live.get(node)
      if (bar === undefined) return
      bar.setTotal(Math.max(1, u.total))
      bar.update(u.done, { node, info: u.info ?? "" })
    },
    log: () => {},
    finish: (o) => {
      const bar = live.get(o.id)
      if (bar !== undefined) {
        bars.remove(bar)
        live.delete(o.id)
      }
      if (o.status !== "cached") say(`${o.status} ${o.id} (${o.ms} ms)${o.reason === undefined ? "" : `: ${o.reason}`}`)
      if (live.size === 0) bars.stop()
    },
    warn: (m) => say(`warning: ${m}`)
  }
}
