"""`patchlint paths`, `locks` and `scan` as text (and the lock graph as DOT)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patchlint.checks.tree import CallPath, LockGraph
    from patchlint.cparse.survey import PeakMemory
    from patchlint.findings import Shard


def render_paths(name: str, paths: list[CallPath], budget_hit: bool) -> str:
    out = [f"call paths into {name}() with the locks held at the call ({len(paths)}):"]
    for p in paths:
        chain = " -> ".join(f"{f.function}() [{f.file}:{f.line}]" for f in p.frames)
        held = ", ".join(f"{h.cls} ({'trylock' if h.how == 'trylock' else 'asserted' if h.how == 'assert' else h.how} "
                         f"in {h.function}():{h.line})" for h in p.held) or "no locks"
        out.append(f"  {chain} -> {name}()")
        out.append(f"      holding: {held}")
    if not paths:
        out.append("  (none found within the caller depth)")
    if budget_hit:
        out.append("analysis incomplete: the exploration budget was hit; more paths may exist")
    return "\n".join(out) + "\n"


def render_locks(graph: LockGraph) -> str:
    out = [f"lock-order graph: {len(graph.edges)} edges from {graph.functions} functions"]
    for (a, b), e in sorted(graph.edges.items()):
        how = "spins for" if e.how == "spin" else "takes"
        out.append(f"  {a} -> {b}: {e.acquired.function}() {how} {b} at {e.acquired.file}:{e.acquired.line}, "
                   f"{a} held since {e.held.function}() {e.held.file}:{e.held.line}")
    if graph.cycles:
        out.append(f"cycles ({len(graph.cycles)}):")
        for cycle in graph.cycles:
            out.append("  " + " -> ".join(cycle + [cycle[0]]))
    else:
        out.append("cycles: none")
    if graph.budget_hit:
        out.append("analysis incomplete: the exploration budget was hit; more edges may exist")
    return "\n".join(out) + "\n"


def render_dot(graph: LockGraph, legend: bool = False) -> str:
    """Graphviz: a box per lock class, an arrow from the lock held to the lock taken, labelled
    with the function that takes it; edges of a cycle in red, spin acquisitions dashed.  With
    `legend` (the drawn SVG: a picture has no `patchlint locks` text beside it to say what the
    styles mean) a boxed key of those styles."""
    in_cycle = {(c[i], c[(i + 1) % len(c)]) for c in graph.cycles for i in range(len(c))}
    nodes = sorted({n for pair in graph.edges for n in pair})
    out = ["digraph locks {", "  rankdir=TB;", '  node [shape=box, fontname="monospace"];']
    for n in nodes:
        out.append(f'  "{n}";')
    for (a, b), e in sorted(graph.edges.items()):
        attrs = [f'label="{e.acquired.function}()"', 'fontsize=9']
        if (a, b) in in_cycle:
            attrs.append("color=red")
        if e.how == "spin":
            attrs.append("style=dashed")
        out.append(f'  "{a}" -> "{b}" [{", ".join(attrs)}];')
    if legend:
        out.extend(_LEGEND)
    out.append("}")
    return "\n".join(out) + "\n"


# The key's nodes are named with "@", which no C lock name contains, so they never merge with
# the graph's own.  One sample edge per style, each labelled with what it means.
_LEGEND = [
    "  subgraph cluster_legend {",
    '    label="legend"; fontname="monospace"; fontsize=10; style=rounded; color=gray;',
    '    node [shape=box, fontname="monospace", fontsize=9, color=gray];',
    '    "@held" [label="lock A"]; "@taken" [label="lock B"];',
    '    "@held" -> "@taken" [label="f() takes B holding A", fontsize=9];',
    '    "@cycle1" [label="lock A"]; "@cycle2" [label="lock B"];',
    '    "@cycle1" -> "@cycle2" [label="in a cycle: possible deadlock", fontsize=9, color=red, fontcolor=red];',
    '    "@spin1" [label="lock A"]; "@spin2" [label="lock B"];',
    '    "@spin1" -> "@spin2" [label="spins on trylock of B holding A", fontsize=9, style=dashed];',
    "  }",
]


def render_safe_sites(sites) -> str:
    """`check --explain`: the dirtying sites found safe after each patch, and why."""
    out = ["", "set_page_dirty() sites found safe (--explain):"]
    for site in sorted(set(sites), key=lambda x: (x.patch, x.file, x.line)):
        out.append(f"  patch {site.patch}: {site.file}:{site.line} {site.function}(): {site.rule}")
    if len(out) == 2:
        out.append("  none in the code the series touches")
    return "\n".join(out) + "\n"


def scan_summary(findings: int, shard: Shard | None, memory: PeakMemory | None) -> str:
    """What `scan` tells a person watching it after the report: how many findings (of which
    shard) and the peak memory it took."""
    return (f"{findings} finding{'s' * (findings != 1)}" + (f" in shard {shard}" if shard else "") +
            (f"; {memory.describe()}" if memory else ""))
