"""What `genart info` reports about a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.core.checkpoints import fallback_warning, newest_info
from genart.core.privacy import checkpoint_privacy
from genart.core.rundir import RunDir


def run_info(path: str | Path) -> dict[str, Any]:
    run = RunDir.open(path)
    data = run.data_report()
    last = run.last_logged()
    facts: dict[str, Any] = {
        "run": run.name,
        "kind": run.config.kind,
        "data": f"{data.get('source', run.config.data)}: {data.get('files', '?')} files, "
                f"{data.get('used', '?')} used, {data.get('skipped', '?')} skipped",
        "step": 0,
        "minutes": 0.0,
        "checkpoint": None,
    }
    if run.has_checkpoint():
        path, meta = newest_info(run.checkpoints)
        facts.update(step=meta["step"], minutes=round(meta["elapsed"] / 60, 2), checkpoint=str(path))
        if path != run.last_checkpoint:
            facts["warning"] = fallback_warning(run.last_checkpoint, path, int(meta.get("step", 0)))
        privacy = checkpoint_privacy(path)  # epsilon spent, delta, noise, clip of a private run
        if privacy is not None:
            facts["privacy"] = privacy
        if meta.get("best"):
            facts["best_val_loss"] = meta["best"].get("val_loss")
            facts["best_step"] = meta["best"].get("step")
    facts["last_losses"] = {k: v for k, v in last.items() if k not in ("step", "elapsed_s")}
    for k in ("channels", "classes", "precision"):
        if run.resolved.get(k) not in (None, []):
            facts[k] = run.resolved[k]
    facts["config"] = {k: v for k, v in run.config.to_dict().items()}
    return facts
