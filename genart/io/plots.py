"""The loss-curve picture of a run (metrics.png)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.core.files import atomic_path

SKIP = {"step", "steps_per_s", "elapsed_s"}


def plot_metrics(rows: list[dict[str, Any]], path: Path, title: str = "") -> Path | None:
    """One panel per logged quantity against step; written atomically. None when nothing is logged."""
    keys = sorted({k for r in rows for k, v in r.items() if k not in SKIP and isinstance(v, (int, float))})
    if not keys:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(keys))
    rows_n = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(4 * cols, 2.6 * rows_n), squeeze=False)
    for ax, k in zip(axes.flat, keys, strict=False):
        pts = [(r["step"], r[k]) for r in rows if k in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1.2, marker="o" if len(pts) < 20 else None, ms=3)
        ax.set_title(k, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return Path(path)
