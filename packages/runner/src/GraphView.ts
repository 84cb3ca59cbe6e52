/**
 * `rlhf graph`: a resolved pipeline as Mermaid or Graphviz dot.
 */
import type { Pipeline } from "@rlhf/core"

const mermaidId = (id: string) => id.replace(/[^A-Za-z0-9_]/g, "_")

/** The pipeline as a Mermaid flowchart or a dot digraph; edges are labelled `output → input`. */
export const render = (resolved: Pipeline.Resolved, fmt: "mermaid" | "dot"): string => {
  const edges = resolved.nodes.flatMap((n) => Object.entries(n.inputs).map(([input, r]) => ({ from: r.node, to: n.id, label: r.output === input ? input : `${r.output} → ${input}` })))
  if (fmt === "dot") {
    return [
      `digraph "${resolved.name}" {`,
      "  rankdir=LR;",
      ...resolved.nodes.map((n) => `  "${n.id}" [label="${n.id}\\n(${n.stage.name})"];`),
      ...edges.map((e) => `  "${e.from}" -> "${e.to}" [label="${e.label}"];`),
      "}"
    ].join("\n")
  }
  return [
    "flowchart LR",
    ...resolved.nodes.map((n) => `  ${mermaidId(n.id)}["${n.id}<br/>(${n.stage.name})"]`),
    ...edges.map((e) => `  ${mermaidId(e.from)} -->|${e.label}| ${mermaidId(e.to)}`)
  ].join("\n")
}
