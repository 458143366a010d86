"""The layers hold: the domain imports no Prefect, no flows or tasks, and no entry point.

Each domain module is imported in a fresh interpreter (so nothing another test imported hides a
dependency), and the modules it pulled in are checked against what the domain may not use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("prefect", "prefect_dask", "flows", "tasks", "blocks", "docket_core.cli", "docket_core.server")


def domain_modules() -> list[str]:
    names = []
    for path in sorted((REPO / "docket_core").rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[1] in ("cli", "server") or "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


PROBE = """
import importlib, json, sys
bad = {}
forbidden = %r
for name in %r:
    before = set(sys.modules)
    importlib.import_module(name)
    pulled = [m for m in set(sys.modules) - before if any(m == f or m.startswith(f + ".") for f in forbidden)]
    if pulled:
        bad[name] = sorted(pulled)[:5]
print(json.dumps(bad))
"""


class TestLayers:
    def test_no_domain_module_imports_prefect_flows_tasks_or_an_entry_point(self) -> None:
        modules = domain_modules()
        assert len(modules) > 50  # the walk found the domain
        # One interpreter per module would take minutes; one per module *first imported* is what
        # matters, so a fresh interpreter imports them in order and charges each its new imports.
        done = subprocess.run([sys.executable, "-c", PROBE % (FORBIDDEN, modules)], capture_output=True, text=True,
                              cwd=REPO, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout) == {}

    def test_no_domain_module_imports_them_late_either(self) -> None:
        import ast

        late = {}
        for name in domain_modules():
            path = REPO / (name.replace(".", "/") + ".py")
            if not path.exists():
                path = REPO / name.replace(".", "/") / "__init__.py"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                targets = [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else \
                    [a.name for a in node.names] if isinstance(node, ast.Import) else []  # fmt: skip
                hits = [t for t in targets if any(t == f or t.startswith(f + ".") for f in FORBIDDEN)]
                if hits:
                    late.setdefault(name, []).extend(hits)
        assert late == {}

    def test_the_domain_has_no_import_cycle_between_modules(self) -> None:
        import ast
        import graphlib

        graph: dict[str, set[str]] = {}
        known = set(domain_modules())
        for name in known:
            path = REPO / (name.replace(".", "/") + ".py")
            if not path.exists():
                path = REPO / name.replace(".", "/") / "__init__.py"
            tree = ast.parse(path.read_text(encoding="utf-8"))
            deps = set()
            for node in ast.walk(tree):
                # A late import inside a function is still a dependency: two modules that need
                # each other are one concept split wrongly, or share something that belongs lower.
                if isinstance(node, ast.ImportFrom) and node.module in known and node.level == 0:
                    # `from package import submodule` depends on the submodule, not the package's __init__
                    subs = {f"{node.module}.{a.name}" for a in node.names} & known
                    deps.update(subs or {node.module})
                elif isinstance(node, ast.Import):
                    deps.update(a.name for a in node.names if a.name in known)
            graph[name] = deps - {name}
        graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


class TestModuleSize:
    def test_no_module_of_the_product_is_over_400_lines(self) -> None:
        # Benchmarks and tests are scripts and fixtures, not the product; migrations are history.
        long = {}
        for package in ("docket_core", "flows", "tasks", "blocks"):
            for path in (REPO / package).rglob("*.py"):
                if "migrations" in path.parts:
                    continue
                lines = len(path.read_text(encoding="utf-8").splitlines())
                if lines > 400:
                    long[str(path.relative_to(REPO))] = lines
        assert long == {}, f"split these modules (at most 400 lines each): {long}"
