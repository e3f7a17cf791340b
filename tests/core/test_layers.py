"""The package's shape, read from its source (ast, nothing imported): imports flow one way through the layers, no
module imports another in a cycle, kinds never import each other, code outside a kind's folder never compares a
value with a kind's name, and no file grows past the size one idea needs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "genart"
MAX_LINES = 500

LAYERS = ["core", "toolkits", "kinds", "services", "interfaces"]
TOOLKITS = ("genart.data", "genart.io", "genart.models", "genart.metrics")
SERVICES = ("genart.train", "genart.api", "genart.generate", "genart.inpaint", "genart.evaluate", "genart.controls",
            "genart.evolve", "genart.evolve_text", "genart.morph", "genart.codec", "genart.card", "genart.info")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    def under(*prefixes: str) -> bool:
        return any(module == p or module.startswith(p + ".") for p in prefixes)

    if under("genart.core"):
        return "core"
    if under(*TOOLKITS):
        return "toolkits"
    if under("genart.kinds"):
        return "kinds"
    if under(*SERVICES):
        return "services"
    return "interfaces"  # the package facade, cli, cli_train, demo, studio, __main__


def kind_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "kinds" else None


def imports(path: Path, module: str, known: dict[str, Path]) -> set[str]:
    """Every genart module `path` imports, at module level or inside functions."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            # `from pkg import sub` runs pkg/__init__.py too: it counts as importing both
            targets = [base, *(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known)]
        for t in targets:
            while t not in known and "." in t:
                t = t.rsplit(".", 1)[0]
            if t in known and t != module and t.startswith("genart"):
                found.add(t)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, m, known) for m, p in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def kind_names() -> set[str]:
    return {p.name for p in (PACKAGE / "kinds").iterdir() if (p / "__init__.py").exists()}


def test_the_graph_is_read_from_every_import_statement() -> None:
    edges = graph()
    assert "genart.core.registry" in edges["genart.core.rundir"]
    assert "genart.train" in edges["genart.demo"]  # an import inside a method counts too


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_no_upward_imports_and_kinds_never_import_each_other() -> None:
    bad = []
    for module, targets in graph().items():
        for target in targets:
            if LAYERS.index(layer(target)) > LAYERS.index(layer(module)):
                bad.append(f"{module} ({layer(module)}) imports {target} ({layer(target)})")
            k, t = kind_of(module), kind_of(target)
            if t is not None and k != t:
                bad.append(f"{module} imports another kind's {target}")
    assert bad == []


def _compared_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants a value is compared with (==, !=, in, not in, match case), with their line numbers."""
    out: list[tuple[int, str]] = []

    def strings(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [s for e in node.elts for s in strings(e)]
        return []

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                out += [(node.lineno, s) for s in strings(side)]
        elif isinstance(node, ast.MatchValue):
            out += [(node.lineno, s) for s in strings(node.value)]
    return out


def test_no_kind_name_is_compared_outside_its_folder() -> None:
    names = kind_names()
    bad = []
    for module, path in modules().items():
        for line, s in _compared_strings(ast.parse(path.read_text(encoding="utf-8"))):
            if s in names and kind_of(module) != s:
                bad.append(f"{path.relative_to(ROOT)}:{line} compares with the kind name {s!r}")
    page = PACKAGE / "studio" / "static" / "app.js"
    for i, text in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if re.search(r"\bkind\s*[!=]==?\s*[\"']", text):
            bad.append(f"{page.relative_to(ROOT)}:{i} branches on a kind's name")
    assert bad == []


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """The rules fail when broken: a cycle, an upward import and a kind-name comparison are each found."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    package = tmp_path / "pkg.py"
    package.write_text("from genart.studio import app\n")
    assert imports(package, "genart.x", {"genart.studio": package, "genart.studio.app": package}) == {
        "genart.studio", "genart.studio.app"}
    assert layer("genart.train") == "services" and layer("genart.core.files") == "core"
    assert LAYERS.index(layer("genart.kinds.gan.model")) > LAYERS.index(layer("genart.metrics.images"))
    tree = ast.parse("if model.kind == 'gan' or x in ('vae', 'other'):\n    pass\n")
    assert [s for _, s in _compared_strings(tree)] == ["gan", "vae", "other"]


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")))
def test_no_file_is_too_long(path: str) -> None:
    lines = (ROOT / path).read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{path} has {lines} lines: split it at its seams"


def test_the_registry_and_the_cli_load_without_torch() -> None:
    """`genart --help` reads every kind's options without importing a model (parts are lazy references)."""
    import subprocess
    import sys

    code = ("import sys, genart.cli; from genart.core.registry import all_kinds; assert all_kinds(); "
            "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
