"""Text outputs: samples to a file (with a JSON provenance sidecar) or to stdout, optionally streamed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.core.files import atomic_path, write_json

NOT_TEXT = {".png", ".jpg", ".jpeg", ".gif", ".mp4", ".webp", ".mid", ".midi", ".wav", ".npy", ".json"}


def header(seed: int) -> str:
    return f"=== seed {seed} ===\n"


def format_samples(texts: list[str], seeds: list[int]) -> str:
    """One sample: the text itself. Several: each under a '=== seed S ===' line, separated by a blank line."""
    if len(texts) == 1:
        return texts[0] if texts[0].endswith("\n") else texts[0] + "\n"
    return "\n".join(header(s) + (t if t.endswith("\n") else t + "\n") for s, t in zip(seeds, texts, strict=True))


def write_text_file(path: Path, texts: list[str], seeds: list[int], provenance: dict[str, Any]) -> Path:
    """The samples to `path` and their provenance to `path`.json, both atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(format_samples(texts, seeds), encoding="utf-8")
    sidecar = path.with_name(path.name + ".json")
    write_json(sidecar, {**provenance, "samples": [{"seed": s, "characters": len(t)} for s, t in zip(seeds, texts, strict=True)]})
    return sidecar
