/** A preference "winner beats loser" between two responses, named by any string key. */
export type PreferenceEdge = { winner: string; loser: string }

/**
 * Which edges lie inside a cyclic preference: both ends in one strongly connected component of
 * more than one node (A>B, B>C, C>A; or A>B with B>A). Such judgements contradict each other,
 * so no ranking can satisfy them all. Self-loops (ties) are not reported here.
 */
export const edgesInCycles = (edges: ReadonlyArray<PreferenceEdge>): boolean[] => {
  const ids = new Map<string, number>()
  const id = (key: string) => ids.get(key) ?? (ids.set(key, ids.size), ids.size - 1)
  const arcs = edges.map((e) => [id(e.winner), id(e.loser)] as const)
  const next: number[][] = Array.from({ length: ids.size }, () => [])
  for (const [from, to] of arcs) next[from]!.push(to)
  const component = stronglyConnectedComponents(next)
  const size = new Map<number, number>()
  for (const c of component) size.set(c, (size.get(c) ?? 0) + 1)
  return arcs.map(([from, to]) => from !== to && component[from] === component[to] && size.get(component[from]!)! > 1)
}

/**
 * Tarjan's algorithm, iterative so that long preference chains cannot overflow the stack.
 * Returns each node's component number.
 */
export const stronglyConnectedComponents = (next: ReadonlyArray<ReadonlyArray<number>>): number[] => {
  const n = next.length
  const index = new Array<number>(n).fill(-1)
  const low = new Array<number>(n).fill(0)
  const component = new Array<number>(n).fill(-1)
  const onStack = new Array<boolean>(n).fill(false)
  const stack: number[] = []
  let counter = 0
  let components = 0
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue
    const work: Array<[node: number, child: number]> = [[root, 0]]
    while (work.length > 0) {
      const frame = work[work.length - 1]!
      const [v, i] = frame
      if (i === 0) {
        index[v] = low[v] = counter++
        stack.push(v)
        onStack[v] = true
      }
      const w = next[v]![i]
      if (w !== undefined) {
        frame[1] = i + 1
        if (index[w] === -1) work.push([w, 0])
        else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!)
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent !== undefined) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!)
      if (low[v] === index[v]) {
        let w2: number
        do {
          w2 = stack.pop()!
          onStack[w2] = false
          component[w2] = components
        } while (w2 !== v)
        components++
      }
    }
  }
  return component
}
