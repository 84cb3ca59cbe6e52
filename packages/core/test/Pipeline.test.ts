/**
 * Pipelines: graph checks, group/include ids, topological order, `--set` params and structural params.
 */
import { fileURLToPath } from "node:url"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Columns, GraphError, ParamError, Pipeline, Stage, Table } from "../src/index.ts"
import type { Builder, OutputRef } from "../src/index.ts"

const Text = Schema.Struct({ text: Columns.Utf8 })
const Scored = Schema.Struct({ text: Columns.Utf8, score: Columns.Float32 })
const MaybeText = Schema.Struct({ text: Schema.NullOr(Columns.Utf8) })

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const Read = Stage.make({
  name: "read",
  version: "1",
  inputs: {},
  outputs: { lines: Text },
  params: Schema.Struct({ path: withDefault(Schema.String, "in.txt") }),
  run: () => Effect.succeed({ lines: Table.make(Text, []) })
})

const Score = Stage.make({
  name: "score",
  version: "1",
  inputs: { lines: Text },
  outputs: { scored: Scored },
  params: Schema.Struct({
    scale: withDefault(Schema.Number, 1),
    label: withDefault(Schema.String, "none"),
    lower: withDefault(Schema.Boolean, false),
    weights: withDefault(Schema.Array(Schema.Number), [])
  }),
  run: () => Effect.succeed({ scored: Table.make(Scored, []) })
})

const Merge = Stage.make({
  name: "merge",
  version: "1",
  inputs: { left: Text, right: Text },
  outputs: { lines: Text },
  params: Schema.Struct({}),
  run: ({ inputs }) => Effect.succeed({ lines: inputs.left })
})

const Pick = Stage.make({
  name: "pick",
  version: "1",
  inputs: { scored: Scored },
  outputs: { lines: Text },
  params: Schema.Struct({}),
  run: () => Effect.succeed({ lines: Table.make(Text, []) })
})

const Nullable = Stage.make({
  name: "nullable",
  version: "1",
  inputs: {},
  outputs: { lines: MaybeText },
  params: Schema.Struct({}),
  run: () => Effect.succeed({ lines: Table.make(MaybeText, []) })
})

const ReadMaybe = Stage.make({
  name: "read-maybe",
  version: "1",
  inputs: { lines: MaybeText },
  outputs: {},
  params: Schema.Struct({}),
  run: () => Effect.succeed({})
})

const graphError = (pipeline: Pipeline.Pipeline, sets: ReadonlyArray<string> = []): GraphError => {
  const error = Effect.runSync(Effect.flip(Pipeline.resolve(pipeline, sets)))
  expect(error).toBeInstanceOf(GraphError)
  return error as GraphError
}

const paramError = (pipeline: Pipeline.Pipeline, sets: ReadonlyArray<string> = []): ParamError => {
  const error = Effect.runSync(Effect.flip(Pipeline.resolve(pipeline, sets)))
  expect(error).toBeInstanceOf(ParamError)
  return error as ParamError
}

const ids = (resolved: Pipeline.Resolved) => resolved.nodes.map((n) => n.id)

/** Every node comes after the nodes it reads from. */
const expectTopological = (resolved: Pipeline.Resolved) => {
  const position = new Map(resolved.nodes.map((n, i) => [n.id, i]))
  for (const [i, n] of resolved.nodes.entries()) {
    for (const r of Object.values(n.inputs)) expect(position.get(r.node)!, `${r.node} before ${n.id}`).toBeLessThan(i)
  }
}

const linear = Pipeline.make("linear", (p) => {
  const read = p.add("read", Read)
  const score = p.add("score", Score, { inputs: { lines: read.out.lines } })
  p.add("pick", Pick, { inputs: { scored: score.out.scored } })
})

describe("graph checks", () => {
  it("rejects a duplicate id, naming it and the stage that holds it", () => {
    const error = graphError(Pipeline.make("dup", (p) => {
      const a = p.add("read", Read)
      p.add("score", Score, { inputs: { lines: a.out.lines } })
      p.add("score", Score, { inputs: { lines: a.out.lines } })
    }))
    expect(error.kind).toBe("duplicate-id")
    expect(error.node).toBe("score")
    expect(error.message).toContain("'score'")
  })

  it("rejects a duplicate id inside a group, by its full id", () => {
    const error = graphError(Pipeline.make("dup", (p) => {
      p.group("g", (g) => {
        g.add("read", Read)
        g.add("read", Read)
      })
    }))
    expect(error.kind).toBe("duplicate-id")
    expect(error.message).toContain("'g/read'")
  })

  it("rejects an input wired to an unknown node, naming both and suggesting near ids", () => {
    const error = graphError(Pipeline.make("unknown", (p) => {
      p.group("prep", (g) => g.add("read", Read))
      p.add("score", Score, { inputs: { lines: p.ref("read", "lines", Text) } })
    }))
    expect(error.kind).toBe("unknown-node")
    expect(error.node).toBe("score")
    expect(error.message).toContain("'read'")
    expect(error.message).toContain("prep/read")
  })

  it("rejects an unknown output, listing the outputs there are", () => {
    const error = graphError(Pipeline.make("output", (p) => {
      p.add("read", Read)
      p.add("score", Score, { inputs: { lines: p.ref("read", "rows", Text) } })
    }))
    expect(error.kind).toBe("unknown-output")
    expect(error.node).toBe("score")
    expect(error.message).toContain("'rows'")
    expect(error.message).toContain("lines")
  })

  it("rejects a missing input, naming the node and the input", () => {
    const error = graphError(Pipeline.make("missing", (p) => {
      p.add("read", Read)
      p.add("merge", Merge, { inputs: { left: p.ref("read", "lines", Text) } } as never)
    }))
    expect(error.kind).toBe("missing-input")
    expect(error.node).toBe("merge")
    expect(error.message).toContain("'right'")
  })

  it("rejects an input the stage does not have, listing its inputs", () => {
    const error = graphError(Pipeline.make("extra", (p) => {
      const read = p.add("read", Read)
      p.add("score", Score, { inputs: { lines: read.out.lines, extra: read.out.lines } } as never)
    }))
    expect(error.kind).toBe("unknown-input")
    expect(error.node).toBe("score")
    expect(error.message).toContain("'extra'")
    expect(error.message).toContain("lines")
  })

  it("rejects a cycle wired through p.ref, listing every node in it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 3 }), (length, tail) => {
        const error = graphError(Pipeline.make("cycle", (p) => {
          const head = p.add("head", Read)
          let prev: OutputRef<typeof Text> = p.ref(`c${length - 1}`, "lines", Text)
          for (let i = 0; i < length; i++) prev = p.add(`c${i}`, Merge, { inputs: { left: prev, right: head.out.lines } }).out.lines
          for (let i = 0; i < tail; i++) prev = p.add(`t${i}`, Merge, { inputs: { left: prev, right: prev } }).out.lines
        }))
        expect(error.kind).toBe("cycle")
        const inCycle = Array.from({ length }, (_, i) => `c${i}`)
        expect(inCycle).toContain(error.node)
        for (const id of inCycle) expect(error.message).toContain(id)
        expect(error.message).not.toContain("head")
        expect(error.message).not.toMatch(/\bt\d/)
      }),
      { numRuns: 20 }
    )
  })

  it("rejects a node wired to its own output, naming it", () => {
    const error = graphError(Pipeline.make("self", (p) => {
      const read = p.add("read", Read)
      p.add("loop", Merge, { inputs: { left: read.out.lines, right: p.ref("loop", "lines", Text) } })
    }))
    expect(error.kind).toBe("cycle")
    expect(error.node).toBe("loop")
    expect(error.message).toContain("loop")
  })

  it("rejects, when it resolves, an output whose columns lack the input's", () => {
    const error = graphError(Pipeline.make("mismatch", (p) => {
      p.add("read", Read)
      p.add("pick", Pick, { inputs: { scored: p.ref("read", "lines", Scored) } })
    }))
    expect(error.kind).toBe("schema-mismatch")
    expect(error.node).toBe("pick")
    expect(error.message).toContain("score")
    expect(error.message).toContain("read.lines")
  })

  it("rejects a column of another Arrow type under the same name", () => {
    const Wide = Schema.Struct({ text: Columns.Utf8, score: Columns.Float64 })
    const Source = Stage.make({ name: "wide", version: "1", inputs: {}, outputs: { scored: Wide }, params: Schema.Struct({}), run: () => Effect.succeed({ scored: Table.make(Wide, []) }) })
    const error = graphError(Pipeline.make("types", (p) => {
      p.add("src", Source)
      p.add("pick", Pick, { inputs: { scored: p.ref("src", "scored", Scored) } })
    }))
    expect(error.kind).toBe("schema-mismatch")
    expect(error.message).toContain("Float32")
  })

  it("rejects a nullable column wired into an input that needs values, but not the reverse", () => {
    const error = graphError(Pipeline.make("nulls", (p) => {
      p.add("src", Nullable)
      p.add("score", Score, { inputs: { lines: p.ref("src", "lines", Text) } })
    }))
    expect(error.kind).toBe("schema-mismatch")
    expect(error.node).toBe("score")
    expect(error.message).toContain("text")
    const widened = Pipeline.resolveSync(Pipeline.make("widen", (p) => {
      p.add("read", Read)
      p.add("maybe", ReadMaybe, { inputs: { lines: p.ref("read", "lines", MaybeText) } })
    }))
    expect(ids(widened)).toStrictEqual(["read", "maybe"])
  })

  it("accepts an output with more columns than the input needs", () => {
    const resolved = Pipeline.resolveSync(Pipeline.make("narrow", (p) => {
      const read = p.add("read", Read)
      const score = p.add("score", Score, { inputs: { lines: read.out.lines } })
      p.add("again", Score, { inputs: { lines: p.ref(score.id, "scored", Text) } })
    }))
    expect(resolved.byId.get("again")!.inputs).toStrictEqual({ lines: { node: "score", output: "scored" } })
  })

  it("rejects ids that cannot be addressed by --set", () => {
    for (const id of ["", "a.b", "a b"]) {
      const error = graphError(Pipeline.make("ids", (p) => void p.add(id, Read)))
      expect(error.message).toContain("node id")
    }
  })
})

describe("ids, groups and order", () => {
  const Prep = Pipeline.make("prep", (p) => {
    const read = p.add("read", Read, { params: { path: "prep.txt" } })
    return p.add("score", Score, { inputs: { lines: read.out.lines } })
  })

  it("prefixes group and include ids, nested ones included, and returns what the build returns", () => {
    const resolved = Pipeline.resolveSync(Pipeline.make("nest", (p) => {
      const first = p.include("first", Prep)
      const inner = p.group("a", (a) => a.group("b", (b) => b.add("pick", Pick, { inputs: { scored: first.out.scored } })))
      const second = p.group("outer", (g) => g.include("second", Prep))
      expect(inner.id).toBe("a/b/pick")
      expect(second.id).toBe("outer/second/score")
      p.add("merge", Merge, { inputs: { left: inner.out.lines, right: p.ref("outer/second/read", "lines", Text) } })
    }))
    expect(new Set(ids(resolved))).toStrictEqual(new Set(["first/read", "first/score", "a/b/pick", "outer/second/read", "outer/second/score", "merge"]))
    expect(resolved.byId.get("a/b/pick")!.inputs).toStrictEqual({ scored: { node: "first/score", output: "scored" } })
    expect(resolved.byId.get("merge")!.inputs.right).toStrictEqual({ node: "outer/second/read", output: "lines" })
    expect(resolved.byId.get("first/read")!.params).toStrictEqual({ path: "prep.txt" })
    expectTopological(resolved)
  })

  it("buildNodesSync finds every node resolveSync does, with the same stage, inputs, timeout and retries, under the same --set", () => {
    const sized = Pipeline.make("sized", (p) => {
      const n = p.param("n", Schema.Int, 2)
      const read = p.add("read", Read, { params: { path: "x.txt" }, timeoutMs: 5000 })
      for (let i = 0; i < n; i++) p.group(`g${i}`, (g) => g.add("score", Score, { inputs: { lines: read.out.lines }, retries: 2 }))
    })
    const sets = ["n=3", "g1/score.scale=4"]
    const resolved = Pipeline.resolveSync(sized, sets)
    const built = Pipeline.buildNodesSync(sized, sets)
    expect([...built.keys()].sort()).toStrictEqual(ids(resolved).sort())
    for (const node of resolved.nodes) {
      const { params: _, ...rest } = node
      expect(built.get(node.id)).toStrictEqual(rest)
    }
  })

  it("lets builders see their prefix", () => {
    const prefixes: Array<string> = []
    Pipeline.resolveSync(Pipeline.make("prefix", (p: Builder) => {
      prefixes.push(p.prefix)
      p.group("x", (x) => {
        prefixes.push(x.prefix)
        x.group("y", (y) => void prefixes.push(y.prefix))
      })
    }))
    expect(prefixes).toStrictEqual(["", "x/", "x/y/"])
  })

  it("uses the same stage as two nodes with their own params", () => {
    const resolved = Pipeline.resolveSync(Pipeline.make("twice", (p) => {
      const read = p.add("read", Read)
      p.add("s1", Score, { inputs: { lines: read.out.lines }, params: { scale: 2 } })
      p.add("s2", Score, { inputs: { lines: read.out.lines }, params: { label: "x" } })
    }), ["s2.scale=5"])
    expect(resolved.byId.get("s1")!.stage).toBe(Score)
    expect(resolved.byId.get("s2")!.stage).toBe(Score)
    expect(resolved.byId.get("s1")!.params).toStrictEqual({ scale: 2, label: "none", lower: false, weights: [] })
    expect(resolved.byId.get("s2")!.params).toStrictEqual({ scale: 5, label: "x", lower: false, weights: [] })
  })

  it("orders nodes topologically, however they were added", () => {
    const resolved = Pipeline.resolveSync(Pipeline.make("backwards", (p) => {
      p.add("pick", Pick, { inputs: { scored: p.ref("score", "scored", Scored) } })
      p.add("score", Score, { inputs: { lines: p.ref("read", "lines", Text) } })
      p.add("read", Read)
    }))
    expect(ids(resolved)).toStrictEqual(["read", "score", "pick"])
    expect(resolved.name).toBe("backwards")
    expect(resolved.module).toBe(fileURLToPath(import.meta.url))
  })

  /** A random DAG: node `n{i}` reads from up to two earlier nodes; nodes are added in a random order. */
  const dagArb = fc.integer({ min: 1, max: 12 }).chain((size) =>
    fc.record({
      parents: fc.tuple(...Array.from({ length: size }, (_, i) =>
        i === 0 ? fc.constant<Array<number>>([]) : fc.uniqueArray(fc.nat(i - 1), { maxLength: 2 })
      )),
      order: fc.shuffledSubarray(Array.from({ length: size }, (_, i) => i), { minLength: size, maxLength: size })
    })
  )

  // Sources read; every other node merges its one or two parents.
  const dagPipeline = ({ parents, order }: { parents: ReadonlyArray<ReadonlyArray<number>>; order: ReadonlyArray<number> }) =>
    Pipeline.make("dag", (p) => {
      const ref = (j: number) => p.ref(`n${j}`, "lines", Text)
      for (const i of order) {
        const [a, b] = parents[i]!
        if (a === undefined) p.add(`n${i}`, Read)
        else p.add(`n${i}`, Merge, { inputs: { left: ref(a), right: ref(b ?? a) } })
      }
    })

  const reach = (parents: ReadonlyArray<ReadonlyArray<number>>, from: number, down: boolean): Set<string> => {
    const edges = (i: number) => down ? parents.flatMap((ps, j) => (ps.includes(i) ? [j] : [])) : parents[i]!
    const seen = new Set([from])
    const stack = [from]
    while (stack.length > 0) for (const j of edges(stack.pop()!)) if (!seen.has(j)) (seen.add(j), stack.push(j))
    return new Set([...seen].map((i) => `n${i}`))
  }

  it("orders random DAGs topologically and finds exactly what is up- and downstream", () => {
    fc.assert(
      fc.property(dagArb, fc.nat(), (dag, pick) => {
        const resolved = Pipeline.resolveSync(dagPipeline(dag))
        expect(resolved.nodes).toHaveLength(dag.parents.length)
        expectTopological(resolved)
        const node = pick % dag.parents.length
        expect(Pipeline.downstreamOf(resolved, `n${node}`)).toStrictEqual(reach(dag.parents, node, true))
        expect(Pipeline.upstreamOf(resolved, `n${node}`)).toStrictEqual(reach(dag.parents, node, false))
      }),
      { numRuns: 100 }
    )
  })

  it("finds up- and downstream nodes of a diamond", () => {
    const resolved = Pipeline.resolveSync(Pipeline.make("diamond", (p) => {
      const read = p.add("read", Read)
      const left = p.add("left", Merge, { inputs: { left: read.out.lines, right: read.out.lines } })
      const right = p.add("right", Merge, { inputs: { left: read.out.lines, right: read.out.lines } })
      p.add("join", Merge, { inputs: { left: left.out.lines, right: right.out.lines } })
      p.add("other", Read)
    }))
    expect(Pipeline.downstreamOf(resolved, "left")).toStrictEqual(new Set(["left", "join"]))
    expect(Pipeline.downstreamOf(resolved, "read")).toStrictEqual(new Set(["read", "left", "right", "join"]))
    expect(Pipeline.upstreamOf(resolved, "join")).toStrictEqual(new Set(["join", "left", "right", "read"]))
    expect(Pipeline.upstreamOf(resolved, "right")).toStrictEqual(new Set(["right", "read"]))
    expect(Pipeline.upstreamOf(resolved, "other")).toStrictEqual(new Set(["other"]))
  })
})

describe("--set overrides", () => {
  const params = (sets: ReadonlyArray<string>) => Pipeline.resolveSync(linear, sets).byId.get("score")!.params

  it("decodes numbers, strings, booleans and JSON lists by the params schema", () => {
    expect(params([])).toStrictEqual({ scale: 1, label: "none", lower: false, weights: [] })
    expect(params(["score.scale=2.5", "score.label=hello world", "score.lower=true", "score.weights=[1,2.5,-3]"]))
      .toStrictEqual({ scale: 2.5, label: "hello world", lower: true, weights: [1, 2.5, -3] })
    // A string param keeps text that happens to parse as JSON; `=` in the value is kept.
    expect(params(["score.label=123", "score.scale=-0.5"])).toMatchObject({ label: "123", scale: -0.5 })
    expect(params(["score.label=a=b"])).toMatchObject({ label: "a=b" })
    expect(Pipeline.resolveSync(linear, ["read.path=data/x.txt"]).byId.get("read")!.params).toStrictEqual({ path: "data/x.txt" })
  })

  it("overrides params given in the pipeline, in group nodes too", () => {
    const grouped = Pipeline.make("grouped", (p) => {
      p.group("g", (g) => {
        const read = g.add("read", Read, { params: { path: "given.txt" } })
        g.add("score", Score, { inputs: { lines: read.out.lines }, params: { scale: 3 } })
      })
    })
    expect(Pipeline.resolveSync(grouped).byId.get("g/read")!.params).toStrictEqual({ path: "given.txt" })
    const resolved = Pipeline.resolveSync(grouped, ["g/read.path=set.txt", "g/score.scale=4"])
    expect(resolved.byId.get("g/read")!.params).toStrictEqual({ path: "set.txt" })
    expect(resolved.byId.get("g/score")!.params).toMatchObject({ scale: 4 })
  })

  it("fails with a ParamError naming the node, the param and what was expected", () => {
    for (const [set, param, expected] of [
      ["score.scale=abc", "scale", /number/],
      ["score.lower=maybe", "lower", /boolean/],
      ["score.weights=[1,\"x\"]", "weights", /number/]
    ] as const) {
      const error = paramError(linear, [set])
      expect(error.node).toBe("score")
      expect(error.param).toBe(param)
      expect(error.message).toContain("'score'")
      expect(error.message).toContain(`'${param}'`)
      expect(error.message).toMatch(expected)
    }
  })

  it("fails with a ParamError on a bad param given in the pipeline itself", () => {
    const error = paramError(Pipeline.make("bad", (p) => void p.add("read", Read, { params: { path: 7 as never } })))
    expect([error.node, error.param]).toStrictEqual(["read", "path"])
    expect(error.message).toMatch(/string/)
  })

  it("fails with a ParamError listing the stage's params for an unknown param", () => {
    const error = paramError(linear, ["score.scael=2"])
    expect([error.node, error.param]).toStrictEqual(["score", "scael"])
    for (const name of ["scale", "label", "lower", "weights"]) expect(error.message).toContain(name)
  })

  it("fails with a GraphError listing the nodes for an unknown node", () => {
    const error = graphError(linear, ["scorer.scale=2"])
    expect(error.kind).toBe("unknown-node")
    expect(error.node).toBe("scorer")
    for (const id of ["read", "score", "pick"]) expect(error.message).toContain(id)
  })

  it("fails with a ParamError on a --set without '='", () => {
    const error = Effect.runSync(Effect.flip(Pipeline.resolve(linear, ["score.scale"])))
    expect(error).toBeInstanceOf(ParamError)
    expect(error.message).toContain("<node-id>.<param>=<value>")
  })
})

describe("structural params (Builder.param)", () => {
  const Loop = Pipeline.make("loop", (p) => {
    const rounds = p.param("rounds", Schema.Int, 2)
    const read = p.add("read", Read)
    let last = read.out.lines
    for (let i = 0; i < rounds; i++) last = p.add(`round-${i}`, Merge, { inputs: { left: last, right: read.out.lines } }).out.lines
    p.group("judge", (g) => {
      const judges = g.param("judges", Schema.Int, 1)
      const label = g.param("label", Schema.String, "j")
      for (let i = 0; i < judges; i++) g.add(`${label}${i}`, Score, { inputs: { lines: last } })
      g.group("deep", (d) => {
        if (d.param("on", Schema.Boolean, false)) d.add("extra", Read)
      })
    })
  })

  it("changes the structure: pipeline-level, group-level and nested group params", () => {
    expect(ids(Pipeline.resolveSync(Loop))).toStrictEqual(["read", "round-0", "round-1", "judge/j0"])
    const more = Pipeline.resolveSync(Loop, ["rounds=4", "judge.judges=3", "judge.label=k", "judge/deep.on=true"])
    expect(more.nodes).toHaveLength(1 + 4 + 3 + 1)
    expect(more.byId.has("round-3")).toBe(true)
    expect(more.byId.get("judge/k2")!.inputs).toStrictEqual({ lines: { node: "round-3", output: "lines" } })
    expect(more.byId.has("judge/deep/extra")).toBe(true)
    expectTopological(more)
    expect(ids(Pipeline.resolveSync(Loop, ["rounds=0"]))).toStrictEqual(["read", "judge/j0"])
  })

  it("fails with a ParamError naming the pipeline or group, the param and what was expected", () => {
    const top = paramError(Loop, ["rounds=two"])
    expect([top.node, top.param]).toStrictEqual(["<pipeline>", "rounds"])
    expect(top.message).toContain("'rounds'")
    expect(top.message).toMatch(/number/)
    const group = paramError(Loop, ["judge.judges=1.5"])
    expect([group.node, group.param]).toStrictEqual(["judge", "judges"])
    expect(group.message).toMatch(/integer/)
  })

  it("treats a --set of a structural param nobody declared as an unknown node", () => {
    const error = graphError(Loop, ["judge.count=2"])
    expect(error.kind).toBe("unknown-node")
    expect(error.message).toContain("judge.count")
  })
})
