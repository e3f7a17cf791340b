"""Files written so that a kill at any moment leaves the old version or the new one, never half of either.

Every writer in genart goes through `atomic_path`: a temporary file beside the target, fsynced, then renamed into
place. A write that fails (a full disk, a read-only folder, ...) removes its temporary file and raises one
`GenartError` naming the folder and, for a full disk, the space the write needed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genart.core.errors import GenartError, RunError

_UMASK = os.umask(0)
os.umask(_UMASK)


class WriteError(GenartError):
    """A file could not be written (full disk, no permission, ...); nothing was left half-written."""


def size_text(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,} bytes" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def write_failure(error: OSError, path: Path, needed: int | None = None) -> WriteError:
    """The one-line error for an OSError while writing `path` (a full disk names the space needed and free)."""
    folder = Path(path).parent
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            free = None
        need = f"; this write needs about {size_text(needed)}" if needed else ""
        have = f", {size_text(free)} free" if free is not None else ""
        return WriteError(f"no space left on the disk holding {folder}{have}{need}; {path.name} was not written",
                          "free some space (or choose another --out) and run the same command again: "
                          "the last good files are kept")
    reason = error.strerror or str(error)
    return WriteError(f"cannot write {path.name} in {folder} ({reason})",
                      "check the folder exists and is writable, then run the same command again")


@contextmanager
def atomic_path(path: Path, size_hint: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed into place.

    On any failure the temporary file is removed; an OSError becomes a WriteError (see write_failure)."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.tmp-", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs are meant to be shared
        os.replace(tmp, path)
    except OSError as e:
        raise write_failure(e, path, size_hint) from e
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, obj: Any) -> None:
    text = json.dumps(obj, indent=2, default=str) + "\n"
    with atomic_path(path, len(text)) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    with atomic_path(path, len(text)) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path} is missing", "is this a genart run directory?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{path} is not valid JSON ({e})", "restore it, or retrain with --fresh") from None


def file_hash(path: Path, n: int = 16) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]
