import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { edgesInCycles, stronglyConnectedComponents } from "../../src/preferences/index.ts"

describe("preference cycles", () => {
  it("flags a cycle of three and a contradiction, not the chain beside them", () => {
    const edges = [
      { winner: "A", loser: "B" }, { winner: "B", loser: "C" }, { winner: "C", loser: "A" }, // cycle
      { winner: "A", loser: "D" }, { winner: "D", loser: "E" }, // leaves the cycle: fine
      { winner: "X", loser: "Y" }, { winner: "Y", loser: "X" } // contradiction
    ]
    expect(edgesInCycles(edges)).toEqual([true, true, true, false, false, true, true])
  })

  it("handles a 10,000-step chain closed into one cycle without overflowing the stack", () => {
    const n = 10_000
    const edges = Array.from({ length: n }, (_, i) => ({ winner: `r${i}`, loser: `r${(i + 1) % n}` }))
    expect(edgesInCycles(edges).every(Boolean)).toBe(true)
    expect(edgesInCycles(edges.slice(0, n - 1)).some(Boolean)).toBe(false)
  })

  it("agrees with mutual reachability on random graphs", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(7), fc.nat(7)), { maxLength: 20 }), (arcs) => {
      const n = 8
      const next = Array.from({ length: n }, (_, v) => arcs.filter(([a]) => a === v).map(([, b]) => b))
      const reach = Array.from({ length: n }, (_, s) => {
        const seen = new Set([s])
        const todo = [s]
        while (todo.length) for (const w of next[todo.pop()!]!) if (!seen.has(w)) (seen.add(w), todo.push(w))
        return seen
      })
      const comp = stronglyConnectedComponents(next)
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) {
        expect(comp[a] === comp[b]).toBe(reach[a]!.has(b) && reach[b]!.has(a))
      }
    }))
  })
})
