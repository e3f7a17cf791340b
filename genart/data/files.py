"""Walking a user's folder: every file of the wanted types, and every other entry named with a reason."""

from __future__ import annotations

import os
from pathlib import Path

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
    e.g. "an image" -> "not an image file type (.txt)"."""
    root_real = root.resolve()
    found: list[Path] = []
    skipped: list[dict[str, str]] = []
    total = 0
    wanted = " ".join(sorted(extensions))
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            p = d / name
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
            if p.is_symlink() and not inside(p, root_real):
                skipped.append({"file": rel(p, root), "reason": "symlink leaves the folder; not followed"})
            elif not p.is_file():
                skipped.append({"file": rel(p, root), "reason": "not a regular file (broken link or device)"})
            elif p.suffix.lower() not in extensions:
                skipped.append({"file": rel(p, root), "reason": f"not {what} file type ({p.suffix or 'no extension'}; "
                                                                f"genart reads {wanted})"})
            else:
                found.append(p)
    found.sort(key=lambda p: rel(p, root))
    return found, skipped, total
