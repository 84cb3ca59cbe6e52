/**
 * GPU inventory: `--gpus 0,1` when given, else `nvidia-smi -L` where it exists, else none.
 */
import { execFileSync } from "node:child_process"

/** Parses `--gpus` ("0,1", "" or "none" for none). */
export const parseGpus = (flag: string): number[] => {
  if (flag.trim() === "" || flag === "none") return []
  return flag.split(",").map((s) => {
    const n = Number(s.trim())
    if (!Number.isInteger(n) || n < 0) throw new Error(`--gpus: '${s}' is not a device index; give a list like 0,1`)
    return n
  })
}

/** The GPUs `nvidia-smi -L` lists, or none when it is missing or fails. */
export const detectGpus = (): number[] => {
  try {
    const out = execFileSync("nvidia-smi", ["-L"], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] })
    return out.split("\n").filter((l) => /^GPU \d+:/.test(l)).map((l) => Number(/^GPU (\d+):/.exec(l)![1]))
  } catch {
    return []
  }
}
