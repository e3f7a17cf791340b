"""Checkpoints: one safetensors file each, nothing pickled, so loading one never runs code.

Every tensor (weights, EMA, optimizer moments, RNG states) is stored under a dotted name, and the rest (step,
optimizer hyper-parameters, elapsed time) as JSON in the file's metadata.

The trainer keeps the previous good checkpoint beside the last one: saving writes the new file to a temporary name,
moves `last` to `previous`, then moves the new file to `last` (each step atomic). Readers that find `last` missing
or unreadable (a half-copied run folder, a disk fault, a kill between the two moves) fall back to the newest
readable checkpoint with a one-line warning naming the steps lost.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from genart.core.errors import RunError
from genart.core.files import atomic_path, write_failure
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

    keep_previous: move the file already at `path` to PREVIOUS beside it before the new one takes its place."""
    tensors, tree = flatten_state(state)
    # safetensors refuses tensors sharing memory; checkpoints are small, so copies are cheap.
    tensors = {k: v.clone() for k, v in tensors.items()}
    meta = {"tree": json.dumps(tree), "info": json.dumps(info, default=str), "genart": __version__}
    size = sum(t.numel() * t.element_size() for t in tensors.values())
    path = Path(path)
    with atomic_path(path, size) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
        if keep_previous and path.exists():
            try:
                os.replace(path, path.with_name(PREVIOUS))
            except OSError as e:
                raise write_failure(e, path.with_name(PREVIOUS)) from e


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


def load_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        raise RunError(f"checkpoint {path} is missing", "train the run first")
    check_header(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
        return unflatten_state(tensors, json.loads(meta["tree"])), json.loads(meta["info"])
    except (SafetensorError, KeyError, json.JSONDecodeError, OSError) as e:
        raise RunError(f"checkpoint {path} is unreadable ({e})", "it is damaged; an earlier checkpoint may load") from None


def checkpoint_info(path: Path) -> dict[str, Any]:
    """The JSON part of a checkpoint (step, elapsed, best), without loading its tensors."""
    path = Path(path)
    if not path.exists():
        raise RunError(f"checkpoint {path} is missing", "train the run first")
    check_header(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads((f.metadata() or {})["info"])
    except (SafetensorError, KeyError, json.JSONDecodeError, OSError) as e:
        raise RunError(f"checkpoint {path} is unreadable ({e})", "it is damaged; an earlier checkpoint may load") from None


def fallbacks(folder: Path) -> list[Path]:
    """Checkpoints to try when `last` fails, newest first: previous, then the kept step-N files, then best."""
    kept = sorted(folder.glob("step-*.safetensors"), reverse=True)
    return [p for p in [folder / PREVIOUS, *kept, folder / BEST] if p.exists()]


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
                raise RunError(f"{folder.parent} has no checkpoint {name}",
                               "train it first (genart train ...), or pick --checkpoint last") from None
            raise RunError(first.message, "no earlier checkpoint is readable: retrain with --fresh") from None
        for alt in candidates:
            try:
                state, info = load_checkpoint(alt)
            except RunError:
                continue
            if warn is not None:
                lost = _last_logged(folder.parent)
                gone = f"steps {int(info.get('step', 0)) + 1} to {lost} are lost" if lost and lost > info.get("step", 0) \
                    else "later steps are lost"
                warn(f"{name} is {'missing' if not path.exists() else 'unreadable'}; using {alt.name} (step "
                     f"{info.get('step', 0)}): {gone}")
            return state, info, alt
        raise RunError(first.message, "no earlier checkpoint is readable either: retrain with --fresh") from None


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
