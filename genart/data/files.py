"""Walking a user's folder: every file of the wanted types, and every other entry named with a reason."""

from __future__ import annotations

import os
from pathlib import Path

from genart.data.ignore import IgnoreRules

BUILTIN_PREFIX = "builtin:"  # --data builtin:NAME: data genart ships or makes itself


def inside(p: Path, root_real: Path) -> bool:
    """Whether p (symlinks resolved) lies under root_real."""
    try:
        p.resolve().relative_to(root_real)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def rel(p: Path, root: Path) -> str:
    try:
        return str(p.relative_to(root))
    except ValueError:
        return str(p)


def find_files(root: Path, extensions: set[str], what: str) -> tuple[list[Path], list[dict[str, str]], int]:
    """Files under root whose extension (any case) is in `extensions`, sorted by relative path; the skipped
    entries with reasons; and the number of entries looked at.

    Hidden files and folders are ignored and not counted. Symlinked files are used only when they stay
    inside root; symlinked folders are never followed (and named). `what` names the wanted kind in reasons,
    e.g. "an image" -> "not an image file type (.txt)".

    Paths a `.genartignore` names (genart.data.ignore) are not read: an ignored folder is not entered. Each is
    skipped with the reason "ignored by .genartignore (...)"."""
    root_real = root.resolve()
    found: list[Path] = []
    skipped: list[dict[str, str]] = []
    total = 0
    wanted = " ".join(sorted(extensions))
    rules = IgnoreRules(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        rules.enter(d)
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            p = d / name
            why = rules.ignored(p, is_dir=True)
            if why:
                total += 1
                skipped.append({"file": rel(p, root) + "/", "reason": f"folder {why}; not entered"})
                continue
            if p.is_symlink():
                total += 1
                where = "leaves the folder" if not inside(p, root_real) else "is a symlinked folder"
                skipped.append({"file": rel(p, root), "reason": f"symlink {where}; not followed"})
                continue
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = d / name
            total += 1
            why = rules.ignored(p, is_dir=False)
            if why:
                skipped.append({"file": rel(p, root), "reason": why})
            elif p.is_symlink() and not inside(p, root_real):
                skipped.append({"file": rel(p, root), "reason": "symlink leaves the folder; not followed"})
            elif not p.is_file():
                skipped.append({"file": rel(p, root), "reason": "not a regular file (broken link or device)"})
            elif p.suffix.lower() not in extensions:
                skipped.append({"file": rel(p, root), "reason": f"not {what} file type ({p.suffix or 'no extension'}; "
                                                                f"genart reads {wanted})"})
            else:
                found.append(p)
    found.sort(key=lambda p: rel(p, root))
    return found, skipped + rules.errors, total


def ignored_count(skipped: list[dict[str, str]]) -> int:
    """How many skipped entries a .genartignore excluded (for ingest reports)."""
    return sum(1 for s in skipped if "ignored by .genartignore" in s.get("reason", ""))
