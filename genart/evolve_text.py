"""Text by likes: `genart evolve` for text runs (a placeholder until the text evolution lands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.core.errors import GenartError


def evolve_text_cli(model: Any, name: str, like: list[int], dislike: list[int], out: Path, n: int = 8, seed: int = 0,
                    length: int | None = None, temperature: float | None = None, prime: str | None = None) -> str:
    raise GenartError("evolution of text runs is not built yet", "evolve an image run")
