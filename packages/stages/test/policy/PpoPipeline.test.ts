/**
 * Unrolling PPO iterations in a pipeline: the groups resolve, each iteration reads the previous
 * one's carried outputs, and the iteration count is a `--set` knob.
 */
import { Pipeline, Stage } from "@rlhf/core"
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { PpoInit } from "../../src/policy/PpoInit.ts"
import { addPpoIterations, ppoStart } from "../../src/policy/PpoPipeline.ts"
import { ReferenceBaseline } from "../../src/policy/ReferenceBaseline.ts"
import { Eval } from "../../src/policy/Eval.ts"
import { PromptRow } from "../../src/schemas/PromptRow.ts"
import { SftRow } from "../../src/schemas/SftRow.ts"
import { TokenizerRow } from "../../src/schemas/TokenizerRow.ts"
import { WeightsRow } from "../../src/schemas/WeightsRow.ts"

// Stand-ins for the data and model stages (never run: the test only resolves the graph).
const source = Stage.make({
  name: "test-sources",
  version: "1",
  inputs: {},
  outputs: { prompts: PromptRow, tokenizer: TokenizerRow, sft: WeightsRow, rm: WeightsRow, demos: SftRow },
  params: Schema.Struct({}),
  run: () => Effect.die("not run in this test")
})

const pipeline = Pipeline.make("ppo-test", (p) => {
  const s = p.add("sources", source)
  const fixedIn = { prompts: s.out.prompts, tokenizer: s.out.tokenizer }
  const baseline = p.add("baseline", ReferenceBaseline, { inputs: { ...fixedIn, sft: s.out.sft, rm: s.out.rm } })
  const init = p.add("ppo-init", PpoInit, { inputs: { init: s.out.rm } })
  const { last, nodes } = addPpoIterations(p, {
    iterations: p.param("iterations", Schema.Int, 2),
    fixed: { ...fixedIn, ref: s.out.sft, rm: s.out.rm, baseline: baseline.out.baseline, sft: s.out.demos },
    start: ppoStart(s.out.sft, init.out),
    params: { batchSize: 4, ptxCoef: 0.5 }
  })
  p.add("eval", Eval, { inputs: { ...fixedIn, policy: last.policy, baseline: s.out.sft } })
  return nodes.length
})

describe("addPpoIterations", () => {
  it("chains iteration i to iteration i − 1's outputs, under groups ppo-1 … ppo-N", () => {
    const resolved = Pipeline.resolveSync(pipeline, ["iterations=3"])
    const ids = resolved.nodes.map((n) => n.id)
    expect(ids.filter((id) => id.startsWith("ppo-") && id !== "ppo-init")).toEqual(["ppo-1/iteration", "ppo-2/iteration", "ppo-3/iteration"])
    const second = resolved.byId.get("ppo-2/iteration")!
    expect(second.params).toMatchObject({ iteration: 2, batchSize: 4, ptxCoef: 0.5 })
    for (const k of ["policy", "critic", "policyOptimizer", "criticOptimizer", "state"]) expect(second.inputs[k]).toEqual({ node: "ppo-1/iteration", output: k })
    expect(resolved.byId.get("ppo-1/iteration")!.inputs["policy"]).toEqual({ node: "sources", output: "sft" })
    expect(resolved.byId.get("ppo-1/iteration")!.inputs["state"]).toEqual({ node: "ppo-init", output: "state" })
    expect(resolved.byId.get("eval")!.inputs["policy"]).toEqual({ node: "ppo-3/iteration", output: "policy" })
    // Another N changes only which iterations exist: iterations 1..3 keep their ids, params and wires.
    const more = Pipeline.resolveSync(pipeline, ["iterations=5"])
    for (const id of ["ppo-1/iteration", "ppo-2/iteration", "ppo-3/iteration"]) {
      expect(more.byId.get(id)!.params).toEqual(resolved.byId.get(id)!.params)
      expect(more.byId.get(id)!.inputs).toEqual(resolved.byId.get(id)!.inputs)
    }
    expect(Pipeline.resolveSync(pipeline).nodes.filter((n) => n.stage.name === "ppo-iteration")).toHaveLength(2)
  })
})

