"""Files written so that a kill at any moment leaves the old version or the new one, never half of either.

Every writer in genart goes through `atomic_path`: a temporary file beside the target, fsynced, then renamed into
place (and the folder fsynced, so the rename survives a power cut). A write that fails (a full disk, a read-only
folder, ...) removes its temporary file and raises one `WriteError` naming the folder and, for a full disk, the space
the write needed. Appends (metrics.jsonl) go through `append_text`, which undoes a partial line the same way.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from genart.core.errors import GenartError, RunError

_UMASK = os.umask(0)
os.umask(_UMASK)
TMP_MARK = ".tmp-"  # temporary files are named .STEM.tmp-RANDOM.SUFFIX
FULL = (errno.ENOSPC, errno.EDQUOT)


class WriteError(GenartError):
    """A file could not be written (full disk, no permission, ...); nothing was left half-written.

    path: the file; full: whether the disk (or quota) was full; needed: the bytes the write needed, when known."""

    def __init__(self, message: str, hint: str = "", path: Path | None = None, full: bool = False,
                 needed: int | None = None) -> None:
        super().__init__(message, hint)
        self.path, self.full, self.needed = path, full, needed


def size_text(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,} bytes" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def free_space(folder: Path) -> int | None:
    """Free bytes on the disk holding `folder` (or its nearest existing parent); None when unknown."""
    folder = Path(folder).absolute()
    for p in (folder, *folder.parents):
        if p.exists():
            try:
                return shutil.disk_usage(p).free
            except OSError:
                return None
    return None


def disk_full(path: Path, needed: int | None = None, run_needs: int | None = None) -> WriteError:
    """The one-line error for a full disk while writing `path`: the folder, the space free, the space needed
    (`needed` for this file; `run_needs` when a training run needs more than that to go on)."""
    path = Path(path)
    folder = path.parent
    free = free_space(folder)
    have = f" ({size_text(free)} free)" if free is not None else ""
    if run_needs:
        need = f"; the run needs about {size_text(run_needs)} free to go on"
    else:
        need = f"; it needs about {size_text(needed)}" if needed else ""
    return WriteError(f"no space left on the disk holding {folder}{have}: {path.name} was not written{need}",
                      "free some space (or choose another --out) and run the same command again: "
                      "the last good files are kept", path=path, full=True, needed=run_needs or needed)


def write_failure(error: OSError, path: Path, needed: int | None = None) -> WriteError:
    """The one-line error for an OSError while writing `path` (a full disk names the space needed and free)."""
    path = Path(path)
    if error.errno in FULL:
        return disk_full(path, needed)
    reason = error.strerror or str(error)
    return WriteError(f"cannot write {path.name} in {path.parent} ({reason})",
                      "check the folder exists and is writable, then run the same command again", path=path)


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _size(path: str | Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


@contextmanager
def atomic_path(path: Path, size_hint: int | None = None,
                before_replace: Callable[[], None] | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed into place.

    before_replace: called once the temporary file is complete and synced, just before the rename.
    On any failure the temporary file is removed; an OSError becomes a WriteError (see write_failure), whose
    space needed is size_hint, else the size of the file being replaced or what was written before the disk filled."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}{TMP_MARK}", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs are meant to be shared
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
        tmp = None
        fsync_folder(path.parent)
    except OSError as e:
        needed = size_hint or max(_size(path), _size(tmp) if tmp else 0) or None
        raise write_failure(e, path, needed) from e
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, obj: Any) -> None:
    text = json.dumps(obj, indent=2, default=str) + "\n"
    with atomic_path(path, len(text.encode())) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    with atomic_path(path, len(text.encode())) as tmp:
        tmp.write_text(text, encoding="utf-8")


def append_text(path: Path, text: str) -> None:
    """Append `text` to a file; when the write fails (a full disk) the file is cut back to its old length, so no
    partial line is left, and one WriteError is raised."""
    path = Path(path)
    data = memoryview(text.encode("utf-8"))
    try:
        with open(path, "ab", buffering=0) as f:
            start = f.tell()
            try:
                while data:
                    data = data[f.write(data):]
            except OSError:
                with suppress(OSError):  # readers skip a partial last line anyway
                    f.truncate(start)
                raise
    except OSError as e:
        raise write_failure(e, path, len(text.encode("utf-8"))) from e


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files a killed writer left in `folder` (not its subfolders); returns them.

    Only for folders no other process is writing into at the same time (a run's checkpoints and samples while its
    one trainer starts)."""
    removed = []
    if Path(folder).is_dir():
        for p in Path(folder).glob(f".*{TMP_MARK}*"):
            try:
                if p.is_file():
                    p.unlink()
                    removed.append(p)
            except OSError:
                pass
    return removed


def read_json(path: Path, limit: int | None = None) -> Any:
    """A JSON file; limit: refuse a file larger than this many bytes (a run folder's config, say) unread."""
    path = Path(path)
    try:
        if limit is not None and path.stat().st_size > limit:
            raise RunError(f"{path} is {size_text(path.stat().st_size)}, far larger than genart writes",
                           "it is damaged or not genart's: restore it, or retrain with --fresh")
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path} is missing", "is this a genart run directory?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{path} is not valid JSON ({e})", "restore it, or retrain with --fresh") from None
    except OSError as e:
        raise RunError(f"{path} cannot be read ({e.strerror or e})", "check the folder's permissions") from None


def file_hash(path: Path, n: int = 16) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]
