"""The run directory: config, checkpoints, samples and metrics, written atomically.

A checkpoint is one safetensors file: every tensor (weights, EMA, optimizer moments, RNG states)
under a dotted name, and the rest (step, optimizer hyper-parameters, elapsed time) as JSON in its
metadata. Nothing is pickled, so loading a checkpoint never runs code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from genart import __version__
from genart.config import TrainConfig, config_class
from genart.errors import RunError

CONFIG = "config.json"
DATA = "data.json"
METRICS = "metrics.jsonl"
LAST = "last.safetensors"
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")


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


def save_checkpoint(path: Path, state: dict[str, Any], info: dict[str, Any]) -> None:
    """Write `state` (nested dicts of tensors) and `info` (JSON) to one safetensors file, atomically."""
    tensors, tree = flatten_state(state)
    # safetensors refuses tensors sharing memory; checkpoints are small, so copies are cheap.
    tensors = {k: v.clone() for k, v in tensors.items()}
    meta = {"tree": json.dumps(tree), "info": json.dumps(info, default=str), "genart": __version__}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
        return unflatten_state(tensors, json.loads(meta["tree"])), json.loads(meta["info"])
    except FileNotFoundError:
        raise RunError(f"checkpoint {path} is missing", "train the run first") from None
    except (SafetensorError, KeyError, json.JSONDecodeError, OSError) as e:
        raise RunError(f"checkpoint {path} is unreadable ({e})", "retrain with --fresh") from None


def checkpoint_info(path: Path) -> dict[str, Any]:
    """The JSON part of a checkpoint (step, elapsed, best), without loading its tensors."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads((f.metadata() or {})["info"])
    except (SafetensorError, KeyError, json.JSONDecodeError, OSError) as e:
        raise RunError(f"checkpoint {path} is unreadable ({e})", "retrain with --fresh") from None


@dataclass
class RunDir:
    """A run directory on disk; see DESIGN.md for its layout."""

    path: Path
    config: TrainConfig
    resolved: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / LAST

    def has_checkpoint(self) -> bool:
        return self.last_checkpoint.exists()

    def save_config(self) -> None:
        write_json(self.path / CONFIG, {
            "genart_version": __version__,
            "kind": self.config.kind,
            "config": self.config.to_dict(),
            "resolved": self.resolved,
        })

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Open an existing run directory (for generate, info, resume)."""
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"no run at {path}", "give the folder passed to 'genart train --out'")
        raw = read_json(path / CONFIG)
        try:
            cfg = config_class(raw["kind"]).from_dict(raw["config"])
        except (KeyError, TypeError) as e:
            raise RunError(f"{path / CONFIG} is incomplete ({e})", "retrain with --fresh") from None
        return cls(path=path, config=cfg, resolved=raw.get("resolved", {}))

    def metrics(self) -> list[dict[str, Any]]:
        """All logged rows; a partial last line (from a kill mid-write) is ignored."""
        rows = []
        p = self.path / METRICS
        if p.exists():
            for line in p.read_text(encoding="utf-8").splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return rows

    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with open(self.path / METRICS, "a", encoding="utf-8") as f:
                f.write("".join(json.dumps(r) + "\n" for r in rows))

    def truncate_metrics(self, step: int) -> None:
        """Drop rows logged after `step` (they came from steps lost in a crash and will be redone)."""
        rows = [r for r in self.metrics() if r.get("step", 0) <= step]
        with atomic_path(self.path / METRICS) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def prepare_run(path: str | Path, cfg: TrainConfig, fresh: bool = False) -> tuple[RunDir, bool]:
    """Create the run directory, or reopen it to resume. Returns (run, resuming)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunError(f"--out {path} is a file, not a folder", "choose another --out")
    if fresh and path.exists() and (path / CONFIG).exists():
        shutil.rmtree(path)
    if (path / CONFIG).exists():
        old = RunDir.open(path)
        if old.config.kind != cfg.kind:
            raise RunError(f"{path} holds a {old.config.kind} run, not {cfg.kind}",
                           "choose another --out, or add --fresh to start over")
        diffs = old.config.differences(cfg)
        if diffs:
            raise RunError(f"{path} was trained with other options: {'; '.join(diffs)}",
                           "use the same options to resume, another --out, or --fresh to start over")
        old.config = cfg  # budget options (steps, minutes, ...) come from this call
        return old, old.has_checkpoint()
    if path.exists() and any(p for p in path.iterdir() if not p.name.startswith(".")):
        raise RunError(f"--out {path} exists and is not a genart run", "choose an empty or new folder")
    return RunDir(path=path, config=cfg), False  # the folder is made when its first file is written
