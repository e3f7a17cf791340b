"""The run directory: config, data report, checkpoints, samples and metrics (see DESIGN.md), written atomically."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genart.core.checkpoints import LAST, fallbacks, load_newest
from genart.core.config import TrainConfig
from genart.core.errors import ConfigError, RunError
from genart.core.files import TMP_MARK, append_text, atomic_path, read_json, remove_stale_temporaries, write_json
from genart.core.registry import config_class
from genart.core.version import __version__

CONFIG = "config.json"
DATA = "data.json"
METRICS = "metrics.jsonl"
MAX_CONFIG = 256 << 20  # a config.json larger than this (a text run's vocabulary included) is not genart's
# Sizes config.json's "resolved" part may give the networks built from it, refused beyond these before any is built.
RESOLVED_LIMITS = {"channels": 4, "embed": 8192, "vocab_size": 1 << 24, "classes": 1 << 16}


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
        """Whether any checkpoint is there to resume from (the last one, or a fallback when it was lost)."""
        return self.last_checkpoint.exists() or (self.checkpoints.is_dir() and bool(fallbacks(self.checkpoints)))

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
        raw = read_json(path / CONFIG, limit=MAX_CONFIG)
        try:
            cfg = config_class(raw["kind"]).from_dict(raw["config"])
            cfg.validate()  # a config claiming absurd sizes is refused before anything is built from it
            resolved = raw.get("resolved", {})
            _check_resolved(resolved)
        except (KeyError, TypeError, AttributeError) as e:
            raise RunError(f"{path / CONFIG} is incomplete ({e})", "retrain with --fresh") from None
        except ConfigError as e:
            raise RunError(f"{path / CONFIG} is not a usable config: {e.message}",
                           "restore the run folder, or retrain with --fresh") from None
        return cls(path=path, config=cfg, resolved=resolved)

    def data_report(self) -> dict[str, Any]:
        """data.json (the ingest report), or {} when the run has none yet."""
        return read_json(self.path / DATA) if (self.path / DATA).exists() else {}

    def last_logged(self) -> dict[str, Any]:
        """The last row of metrics.jsonl with losses and throughput (not an evaluation row), or {}."""
        return next((r for r in reversed(self.metrics()) if "steps_per_s" in r), {})

    def load_checkpoint(self, which: str = "last", warn: Callable[[str], None] | None = None
                        ) -> tuple[dict[str, Any], dict[str, Any], Path]:
        """The checkpoint state of a run: `last` (or, when it is unreadable, the newest readable one, with a
        warning), `best`, or a file name under checkpoints/. Returns (state, info, path)."""
        return load_newest(self.checkpoints, warn=warn, what=which)

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
        """Append rows to metrics.jsonl (a failed write leaves no partial line and raises WriteError)."""
        if rows:
            append_text(self.path / METRICS, "".join(json.dumps(r) + "\n" for r in rows))

    def truncate_metrics(self, step: int) -> None:
        """Drop rows logged after `step` (they came from steps lost in a crash and will be redone), and any partial
        line a kill left; the file is rewritten only when something is dropped."""
        p = self.path / METRICS
        try:
            old = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            old = ""
        text = "".join(json.dumps(r) + "\n" for r in self.metrics() if r.get("step", 0) <= step)
        if text != old:
            with atomic_path(p, len(text.encode())) as tmp:
                tmp.write_text(text, encoding="utf-8")

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete the temporary files a killed trainer left (a half-written checkpoint, say); for the trainer, as it
        starts. Other commands' temporary files in the run folder (evaluate's, ...) are left alone."""
        removed = remove_stale_temporaries(self.checkpoints) + remove_stale_temporaries(self.samples)
        for stem in (Path(CONFIG).stem, Path(DATA).stem, Path(METRICS).stem):
            for p in self.path.glob(f".{stem}{TMP_MARK}*"):
                with suppress(OSError):
                    p.unlink()
                    removed.append(p)
        return removed


def _check_resolved(resolved: Any) -> None:
    """Refuse a "resolved" part of config.json claiming absurd sizes (a hand edit, a damaged file)."""
    if not isinstance(resolved, dict):
        raise ConfigError("its \"resolved\" part is not a JSON object", "")
    for key, limit in RESOLVED_LIMITS.items():
        value = resolved.get(key)
        n = len(value) if isinstance(value, list) else value
        if value is not None and not (isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= limit):
            what = f"{n:,} {key}" if isinstance(value, list) else f"{key} {value!r}"
            raise ConfigError(f"it claims {what} (at most {limit:,})", "")


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
