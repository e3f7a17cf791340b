"""What `genart info` reports about a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.runs import DATA, RunDir, checkpoint_info, read_json


def run_info(path: str | Path) -> dict[str, Any]:
    run = RunDir.open(path)
    data = read_json(run.path / DATA) if (run.path / DATA).exists() else {}
    rows = run.metrics()
    last = next((r for r in reversed(rows) if "steps_per_s" in r), {})
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
        meta = checkpoint_info(run.last_checkpoint)
        facts.update(step=meta["step"], minutes=round(meta["elapsed"] / 60, 2), checkpoint=str(run.last_checkpoint))
        if meta.get("best"):
            facts["best_val_loss"] = meta["best"].get("val_loss")
            facts["best_step"] = meta["best"].get("step")
    facts["last_losses"] = {k: v for k, v in last.items() if k not in ("step", "elapsed_s")}
    for k in ("channels", "classes", "precision"):
        if run.resolved.get(k) not in (None, []):
            facts[k] = run.resolved[k]
    facts["config"] = {k: v for k, v in run.config.to_dict().items()}
    return facts
