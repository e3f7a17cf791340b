"""The runs folder behind the studio: safe run names to paths, a small LRU of loaded models, and the capability a
request needs from a run's kind (asked of the kind's registry entry, never of its name)."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from genart.core.errors import GenartError
from genart.core.registry import AUDIO, DENOISE, IMAGES, LATENT, SEQUENCE, TEXT, all_kinds
from genart.studio.errors import StudioError

RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class Need:
    """Capabilities an endpoint needs, and what it says to a run that lacks them (after "RUN is a KIND run")."""

    capabilities: tuple[str, ...]
    problem: str


MAKES_IMAGES = Need((IMAGES,), "; this makes images")
LATENT_IMAGES = Need((IMAGES, LATENT), "; this needs a latent space (directions, mixing, walks, evolution)")
DENOISES = Need((IMAGES, DENOISE), "; this needs a run with a denoiser (image-to-image, inpainting)")
MAKES_SEQUENCES = Need((SEQUENCE,), "; this makes text or music")
MAKES_TEXT = Need((SEQUENCE, TEXT), ", not a text run")
MAKES_MUSIC = Need((SEQUENCE, AUDIO), ", not a music run")


def require(model: Any, name: str, *needs: Need) -> None:
    """A clear 400 naming the kinds that could, when the run's kind lacks a capability (the first unmet need)."""
    for need in needs:
        if not all(model.can(c) for c in need.capabilities):
            kinds = [k for k, spec in all_kinds().items() if all(spec.can(c) for c in need.capabilities)]
            hint = f"use a {' or '.join(kinds)} run" if kinds else "no installed kind can do this"
            raise StudioError(400, f"{name} is a {model.kind} run{need.problem}", hint)


class Runs:
    """The runs in one folder (or the folder itself when it is a run), and their loaded models: a small LRU, one
    lock each (rendering shares the weights; one batch at a time per model)."""

    def __init__(self, root: Path, device: str, cache_size: int = 3) -> None:
        self.root = root
        self.device = device
        self.size = cache_size
        self.cache: OrderedDict[Path, tuple[Any, threading.Lock]] = OrderedDict()
        self.lock = threading.Lock()

    def dirs(self) -> dict[str, Path]:
        root = self.root
        if (root / "config.json").is_file():  # RUNS_DIR is itself one run
            return {root.name: root}
        out = {}
        for p in sorted(root.iterdir()):
            if not p.is_symlink() and p.is_dir() and RUN_NAME.fullmatch(p.name) and (p / "config.json").is_file():
                out[p.name] = p
        return out

    def path(self, name: str) -> Path:
        """The run folder called `name`, directly inside the runs folder (no '..', no symlinks out)."""
        root = self.root
        if not RUN_NAME.fullmatch(name) or ".." in name:
            raise StudioError(400, f"run name {name!r} is not allowed", "use a run folder's own name")
        if (root / "config.json").is_file():
            if name != root.name:
                raise StudioError(404, f"no run {name!r}", "see /api/runs")
            return root
        p = root / name
        if p.is_symlink() or not p.is_dir():
            raise StudioError(404, f"no run {name!r}", "see /api/runs")
        resolved = p.resolve()
        if resolved.parent != root:
            raise StudioError(400, f"run {name!r} lies outside the runs folder", "")
        if not (resolved / "config.json").is_file():
            raise StudioError(404, f"{name!r} is not a genart run", "see /api/runs")
        return resolved

    def model(self, name: str, *needs: Need) -> tuple[Any, threading.Lock]:
        """The run's loaded model and its lock, checked to have what `needs` ask for."""
        model, lock = self._load(self.path(name))
        require(model, name, *needs)
        return model, lock

    def _load(self, path: Path) -> tuple[Any, threading.Lock]:
        import genart

        with self.lock:
            if path in self.cache:
                self.cache.move_to_end(path)
                return self.cache[path]
        try:
            model = genart.load(str(path), device=self.device)
        except GenartError as e:
            raise StudioError(422, f"run {path.name} cannot be loaded: {e.message}", e.hint) from None
        except Exception as e:  # noqa: BLE001 - a broken run must give a clear answer, not a 500 with a traceback
            raise StudioError(422, f"run {path.name} cannot be loaded ({type(e).__name__}: {str(e)[:200]})",
                              "check the run with genart info, or retrain it") from None
        with self.lock:
            self.cache[path] = (model, threading.Lock())
            while len(self.cache) > self.size:
                self.cache.popitem(last=False)
            return self.cache[path]


def _runs(request: Request) -> Runs:
    return request.app.state.runs


RunsDep = Annotated[Runs, Depends(_runs)]  # an endpoint's view of the app's runs folder


def figures(run: Path) -> list[dict[str, Any]]:
    """Up to 8 headline figures from the run's evaluation.json (none when it is missing or unreadable)."""
    p = run / "evaluation.json"
    if not p.is_file():
        return []
    try:
        result = json.loads(p.read_text(encoding="utf-8"))
        return [{"label": f["label"], "model": f["model"], "better": f.get("better")} for f in result.get("figures", [])][:8]
    except (OSError, ValueError, KeyError, TypeError):
        return []
