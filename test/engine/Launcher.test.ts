import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { rlhf, scratch, statuses } from "./Cli.ts"

describe("the launcher's bundles", () => {
  it("a pipeline with top-level await runs (from ES module bundles), workers included", () => {
    const dir = scratch()
    const source = fs.readFileSync(path.join(dir, "faults.ts"), "utf8")
    fs.writeFileSync(path.join(dir, "faults.ts"), source.replace("export default", "const slowMs = await Promise.resolve(10)\nexport default"))
    const r = rlhf(dir, ["run", "faults.ts", "--only", "slow", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(statuses(r)).toMatchObject({ source: "ran", slow: "ran" })
    expect(fs.readFileSync(path.join(dir, "faults.ts"), "utf8")).toMatch(/const slowMs = await/)
  })

  it("a pipeline that does not compile is an error naming its file and line", () => {
    const dir = scratch()
    fs.writeFileSync(path.join(dir, "broken.ts"), `import { Pipeline } from "@rlhf/core"\nexport default Pipeline.make("x", (p) => { p.add( })\n`)
    const r = rlhf(dir, ["plan", "broken.ts"])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^rlhf: cannot bundle broken\.ts:\nbroken\.ts:2:\d+: ERROR: /)
  })
})
