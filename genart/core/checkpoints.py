"""Checkpoints: one safetensors file each, nothing pickled, so loading one never runs code.

Every tensor (weights, EMA, optimizer moments, RNG states) is stored under a dotted name, and the rest (step,
optimizer hyper-parameters, elapsed time) as JSON in the file's metadata.

The trainer keeps the previous good checkpoint beside the last one: saving writes the new file to a temporary name
(fsynced), links `last` to `previous`, then renames the new file to `last` (each step atomic, so `last` is always
there, old or new; where hard links are not supported `last` is moved to `previous` instead). A full disk or any
other write error leaves `last` as it was and no temporary file. Readers that find `last` missing or unreadable (a
half-copied run folder, a disk fault) fall back to the newest readable checkpoint with a one-line warning naming
the steps lost.
"""

from __future__ import annotations

import errno
import json
import os
import re
import struct
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from genart.core.errors import RunError
from genart.core.files import TMP_MARK, atomic_path
from genart.core.version import __version__

LAST = "last.safetensors"
PREVIOUS = "previous.safetensors"
BEST = "best.safetensors"
MAX_HEADER = 64 << 20  # a safetensors header (names, shapes, metadata) larger than this is not genart's
MAX_CHECKPOINT = 64 << 30  # nor a checkpoint claiming more tensor bytes than this


# --- flattening state dicts (nested dicts of tensors and plain values) into tensors + JSON ---------

def flatten_state(state: dict[str, Any], prefix: str = "") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split a nested state into a flat {name: tensor} and a JSON-able tree with tensors replaced by refs."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(obj: Any, name: str) -> Any:
        if isinstance(obj, torch.Tensor):
            tensors[name] = obj.detach().to("cpu").contiguous()
            return {"__tensor__": name}
        if isinstance(obj, dict):
            return {"__dict__": [[k, walk(v, f"{name}.{k}")] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            return [walk(v, f"{name}.{i}") for i, v in enumerate(obj)]
        return obj

    tree = walk(state, prefix or "s")
    return tensors, tree


def unflatten_state(tensors: dict[str, torch.Tensor], tree: Any) -> Any:
    if isinstance(tree, dict) and "__tensor__" in tree:
        return tensors[tree["__tensor__"]]
    if isinstance(tree, dict) and "__dict__" in tree:
        return {k: unflatten_state(tensors, v) for k, v in tree["__dict__"]}
    if isinstance(tree, list):
        return [unflatten_state(tensors, v) for v in tree]
    return tree


def int_keys(opt_state: dict[str, Any]) -> dict[str, Any]:
    """An optimizer state_dict as read back from a checkpoint (JSON turned its integer keys into strings)."""
    out = dict(opt_state)
    out["state"] = {int(k): v for k, v in opt_state.get("state", {}).items()}
    return out


# --- writing ------------------------------------------------------------------------------------------

def save_checkpoint(path: Path, state: dict[str, Any], info: dict[str, Any], keep_previous: bool = False) -> None:
    """Write `state` (nested dicts of tensors) and `info` (JSON) to one safetensors file, atomically.

    keep_previous: the file already at `path` becomes PREVIOUS beside it as the new one takes its place.
    Raises WriteError (see genart.core.files) when it cannot be written; `path` is then unchanged."""
    tensors, tree = flatten_state(state)
    # safetensors refuses tensors sharing memory; checkpoints are small, so copies are cheap.
    tensors = {k: v.clone() for k, v in tensors.items()}
    meta = {"tree": json.dumps(tree), "info": json.dumps(info, default=str), "genart": __version__}
    size = sum(t.numel() * t.element_size() for t in tensors.values())
    path = Path(path)
    with atomic_path(path, size, before_replace=(lambda: _keep_previous(path)) if keep_previous else None) as tmp:
        try:
            save_file(tensors, str(tmp), metadata=meta)
        except SafetensorError as e:  # safetensors writes in Rust: its I/O errors (a full disk...) are not OSErrors
            code = re.search(r"os error (\d+)", str(e))
            raise (OSError(int(code[1]), os.strerror(int(code[1]))) if code else OSError(errno.EIO, str(e))) from e


def _keep_previous(path: Path) -> None:
    """Make the checkpoint at `path` (if any) PREVIOUS too, leaving `path` in place: a hard link, renamed over PREVIOUS."""
    if not path.exists():
        return
    try:
        check_header(path)
    except RunError:
        return  # a damaged `last` (cut short by a copy, say) is replaced, never kept over a good `previous`
    previous = path.with_name(PREVIOUS)
    link = path.with_name(f".{previous.stem}{TMP_MARK}link-{os.getpid()}{previous.suffix}")
    with suppress(FileNotFoundError):
        link.unlink()
    try:
        os.link(path, link)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise
        os.replace(path, previous)  # no hard links here (FAT, some network disks): a reader in between falls back
        return
    try:
        os.replace(link, previous)
    finally:
        with suppress(FileNotFoundError):
            link.unlink()


# --- reading ------------------------------------------------------------------------------------------

def check_header(path: Path) -> None:
    """Refuse a file whose safetensors header claims absurd sizes, before anything large is allocated."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise RunError(f"checkpoint {path} is truncated ({size} bytes)", "it was cut short while copying")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER or n > size - 8:
                raise RunError(f"checkpoint {path} claims a {n:,}-byte header in a {size:,}-byte file",
                               "it is damaged or not a genart checkpoint")
            header = json.loads(f.read(n))
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise RunError(f"checkpoint {path} is unreadable ({e})", "it is damaged or not a genart checkpoint") from None
    if not isinstance(header, dict):
        raise RunError(f"checkpoint {path} has a malformed header", "it is damaged or not a genart checkpoint")
    end = 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        offsets = t.get("data_offsets") if isinstance(t, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise RunError(f"checkpoint {path} has a malformed entry {name!r}", "it is damaged or not a genart checkpoint")
        end = max(end, offsets[1])
    if end > MAX_CHECKPOINT or end + 8 + n > size:
        raise RunError(f"checkpoint {path} claims {end:,} bytes of tensors but holds {size - 8 - n:,}",
                       "it was cut short while copying, or is damaged")


def _read(path: Path, tensors: bool) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """A checkpoint's metadata, and its tensors when asked; one RunError for every way it can be damaged."""
    path = Path(path)
    if not path.exists():
        raise RunError(f"checkpoint {path} is missing", "train the run first")
    check_header(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return meta, (load_file(str(path)) if tensors else {})
    except (SafetensorError, OSError) as e:
        raise RunError(f"checkpoint {path} is unreadable ({e})", "it is damaged; an earlier checkpoint may load") from None


def _json(meta: dict[str, str], key: str, path: Path) -> Any:
    try:
        return json.loads(meta[key])
    except (KeyError, json.JSONDecodeError) as e:
        raise RunError(f"checkpoint {path} is unreadable (its {key!r} metadata: {e})",
                       "it is damaged or not a genart checkpoint") from None


def load_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, info) of a checkpoint: the nested state with its tensors, and the JSON info (step, elapsed, best)."""
    meta, tensors = _read(path, tensors=True)
    try:
        state = unflatten_state(tensors, _json(meta, "tree", path))
    except (KeyError, TypeError, ValueError) as e:
        raise RunError(f"checkpoint {path} is unreadable (its state tree: {e})", "it is damaged") from None
    return state, _json(meta, "info", path)


def checkpoint_info(path: Path) -> dict[str, Any]:
    """The JSON part of a checkpoint (step, elapsed, best), without loading its tensors."""
    meta, _ = _read(path, tensors=False)
    return _json(meta, "info", path)


def fallbacks(folder: Path) -> list[Path]:
    """Checkpoints to try when `last` fails (previous, the kept step-N files, best), newest first by the step their
    headers claim; those whose header is unreadable come last."""
    kept = sorted(folder.glob("step-*.safetensors"), reverse=True)
    found = [p for p in [folder / PREVIOUS, *kept, folder / BEST] if p.exists()]
    steps = {p: claimed_step(p) for p in found}
    return sorted(found, key=lambda p: -1 if steps[p] is None else -steps[p])  # a stable sort: ties keep this order


def claimed_step(path: Path) -> int | None:
    """The step a checkpoint's header says it holds, read without its tensors (None when unreadable): it names the
    steps lost when a damaged `last` is passed over, and orders the fallbacks."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return None
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER or n > size - 8:
                return None
            info = json.loads(json.loads(f.read(n))["__metadata__"]["info"])
        return int(info["step"])
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def load_newest(folder: Path, warn: Callable[[str], None] | None = None,
                what: str = "last") -> tuple[dict[str, Any], dict[str, Any], Path]:
    """Load `what` (last, best or a file name) from a checkpoints folder. When `last` is missing or unreadable, the
    newest readable fallback is loaded instead and `warn` gets one line saying which steps were lost."""
    name = LAST if what == "last" else (what if what.endswith(".safetensors") else f"{what}.safetensors")
    path = folder / name
    if what != "last":
        if not path.exists():
            raise RunError(f"{folder.parent} has no checkpoint {name}",
                           "train it first (genart train ...), or pick --checkpoint last")
        state, info = load_checkpoint(path)
        return state, info, path
    try:
        state, info = load_checkpoint(path)
        return state, info, path
    except RunError as first:
        candidates = fallbacks(folder)
        if not candidates:
            if not path.exists():
                raise RunError(f"{folder.parent} has no checkpoint", "train it first (genart train ...)") from None
            raise RunError(first.message, "no earlier checkpoint is readable: retrain with --fresh") from None
        for alt in candidates:
            try:
                state, info = load_checkpoint(alt)
            except RunError:
                continue
            if warn is not None:
                warn(fallback_warning(path, alt, int(info.get("step", 0))))
            return state, info, alt
        raise RunError(first.message, "no earlier checkpoint is readable either: retrain with --fresh") from None


def fallback_warning(last: Path, used: Path, step: int) -> str:
    """The one line that says `last` was passed over for `used` (at `step`), and which steps that loses."""
    lost = claimed_step(last) if last.exists() else None
    lost = lost if lost is not None else _last_logged(last.parent.parent)
    gone = f"steps {step + 1} to {lost} are lost" if lost is not None and lost > step else "later steps are lost"
    how = "unreadable (damaged or cut short)" if last.exists() else "missing"
    return f"{last.name} is {how}; using {used.name} (step {step}): {gone}"


def newest_info(folder: Path) -> tuple[Path, dict[str, Any]]:
    """The path and info of the newest readable checkpoint (`last`, else the fallbacks), without loading tensors."""
    first: RunError | None = None
    for path in [folder / LAST, *fallbacks(folder)]:
        try:
            return path, checkpoint_info(path)
        except RunError as e:
            first = first or e
    raise first or RunError(f"{folder.parent} has no checkpoint", "train it first (genart train ...)")


def _last_logged(run_path: Path) -> int | None:
    """The last step in metrics.jsonl, to say how many steps a fallback loses (None when unknown)."""
    p = run_path / "metrics.jsonl"
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError):
            continue
    return None
