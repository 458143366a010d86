"""Planning a `run_after` graph: workflow steps within a workflow, extensions within a queue.

A spec is `{name: predecessors}`: each name runs after every one of its predecessors. `validate_dag`
checks a spec and reports every problem at once; `plan_levels` turns it into levels, where everything in
a level may run at the same time and a level starts once the previous one is done. Levels and the
names within them are sorted, so a plan never depends on insertion order or string hashing.
"""

from __future__ import annotations

import graphlib
import json
from collections.abc import Iterable, Mapping

from docket_core.errors import InputError

__all__ = [
    "DAGError",
    "describe_levels",
    "edges",
    "plan_levels",
    "to_mermaid",
    "validate_dag",
]

Spec = Mapping[str, Iterable[str]]


class DAGError(InputError):
    """Raised when a `run_after` graph names unknown predecessors, has self-dependencies or cycles.

    `problems` holds every problem found, and the message lists them, one per line.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def __reduce__(self) -> tuple[type[DAGError], tuple[list[str]]]:
        # The default reduce would call DAGError(message) and split the message into characters;
        # Prefect pickles exceptions between processes, so rebuild from the problems instead.
        return (type(self), (self.problems,))


def validate_dag(
    spec: Spec, *, what: str = "extension", context: str = ""
) -> dict[str, frozenset[str]]:
    """Check a `{name: predecessors}` spec and return it normalized, sorted by name.

    Args:
        spec: each name mapped to the names it runs after.
        what: what the names are, for messages ("extension", "step").
        context: where they live, for messages ("on queue 'q1'", "in workflow 'ocr'").

    Raises:
        DAGError: listing every unknown predecessor, self-dependency and cycle (as a path
            `a -> b -> a`, each name running before the next).
    """
    where = f" {context}" if context else ""
    problems: list[str] = []
    normalized: dict[str, frozenset[str]] = {}
    for name in sorted(spec):
        predecessors = spec[name]
        if isinstance(predecessors, str | bytes):
            # A bare string is iterable too, and would silently become one predecessor per character.
            problems.append(
                f"{what} {name!r}{where} must list its predecessors as a collection of names, "
                f"got the string {predecessors!r}; write [{predecessors!r}]"
            )
            normalized[name] = frozenset()
            continue
        normalized[name] = frozenset(predecessors)

    known = ", ".join(repr(n) for n in normalized) or "none"
    for name, predecessors in normalized.items():
        for predecessor in sorted(predecessors):
            if predecessor == name:
                problems.append(f"{what} {name!r}{where} runs after itself; remove it from its own run_after")
            elif predecessor not in normalized:
                problems.append(f"{what} {name!r}{where} runs after unknown {predecessor!r} (known: {known})")

    for cycle in _cycles(normalized):
        problems.append(f"cycle among {what}s{where}: {' -> '.join(cycle)}; remove one of these run_after edges")

    if problems:
        raise DAGError(problems)
    return normalized


def _cycles(spec: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """Every cycle graphlib finds, one per knot: after each, drop its nodes and look again.

    Self-dependencies and unknown names are reported elsewhere, so they are left out here.
    """
    graph = {name: sorted(p for p in preds if p in spec and p != name) for name, preds in spec.items()}
    cycles: list[list[str]] = []
    while graph:
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as e:
            found: list[str] = e.args[1]
            ring = found[:-1]
            start = ring.index(min(ring))  # the same cycle always reads from the same name
            ring = ring[start:] + ring[:start]
            cycles.append([*ring, ring[0]])
            graph = {n: [p for p in ps if p not in ring] for n, ps in graph.items() if n not in ring}
        else:
            break
    return cycles


def plan_levels(spec: Spec, *, what: str = "extension", context: str = "") -> list[list[str]]:
    """Validate `spec` and return its levels, each sorted by name.

    Everything in a level depends only on earlier levels, so a level may run in parallel.
    Raises `DAGError` as `validate_dag` does.
    """
    graph = validate_dag(spec, what=what, context=context)
    sorter = graphlib.TopologicalSorter({name: sorted(preds) for name, preds in graph.items()})
    sorter.prepare()
    levels: list[list[str]] = []
    while sorter.is_active():
        level = sorted(sorter.get_ready())
        levels.append(level)
        sorter.done(*level)
    return levels


def edges(spec: Spec, *, what: str = "extension", context: str = "") -> list[tuple[str, str]]:
    """Every `(predecessor, successor)` pair of a valid spec, sorted."""
    graph = validate_dag(spec, what=what, context=context)
    return sorted((pred, name) for name, preds in graph.items() for pred in preds)


def to_mermaid(spec: Spec, title: str | None = None) -> str:
    """A Mermaid `flowchart LR` of the plan: one subgraph per level, one arrow per `run_after` edge."""
    levels = plan_levels(spec)
    node_ids: dict[str, str] = {}
    lines: list[str] = []
    if title:
        # A JSON string is a valid YAML double-quoted scalar, so any title survives the front matter.
        lines += ["---", f"title: {json.dumps(title)}", "---"]
    lines.append("flowchart LR")
    for number, level in enumerate(levels, start=1):
        lines.append(f'    subgraph level_{number} ["level {number}"]')
        for name in level:
            node_ids[name] = f"n{len(node_ids)}"
            lines.append(f'        {node_ids[name]}["{_mermaid_label(name)}"]')
        lines.append("    end")
    for pred, name in edges(spec):
        lines.append(f"    {node_ids[pred]} --> {node_ids[name]}")
    return "\n".join(lines) + "\n"


def _mermaid_label(name: str) -> str:
    return name.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def describe_levels(spec: Spec, *, what: str = "extension") -> str:
    """The plan as text, one line per level: `level 2: c (after a, b), d (after a)`."""
    graph = validate_dag(spec, what=what)
    levels = plan_levels(graph, what=what)
    if not levels:
        return f"no {what}s"
    lines = []
    for number, level in enumerate(levels, start=1):
        parts = [f"{name} (after {', '.join(sorted(graph[name]))})" if graph[name] else name for name in level]
        lines.append(f"level {number}: {', '.join(parts)}")
    return "\n".join(lines)
