"""MODEL_CARD.md: what a run was trained on, how, and its limits."""

from __future__ import annotations

from typing import Any

from genart.core.files import write_text
from genart.core.rundir import RunDir


def write_model_card(run: RunDir, evaluation: dict[str, Any] | None = None) -> None:
    cfg = run.config
    data: dict[str, Any] = run.data_report()
    last = run.last_logged()
    losses = ", ".join(f"{k} {v}" for k, v in last.items() if k not in ("step", "steps_per_s", "elapsed_s"))
    classes = run.resolved.get("classes") or []
    lines = [
        f"# Model card: {run.name}",
        "",
        f"A genart **{cfg.kind}** model. Everything it makes is AI-generated and is labelled so in its files.",
        "",
        "## Data",
        f"- Source: `{data.get('source', cfg.data)}`",
        f"- Files: {data.get('files', '?')} found, {data.get('used', '?')} used, {data.get('skipped', '?')} skipped "
        "(every skipped file and why: `data.json`)",
        f"- Content hash (sha256 of the files used, first 16 hex digits): `{data.get('content_hash', '?')}`",
    ]
    if classes:
        lines.append(f"- Classes ({len(classes)}): {', '.join(map(str, classes[:50]))}")
    lines += [
        "",
        "## Training",
        f"- Steps: {last.get('step', 0)}; training time: {last.get('elapsed_s', 0) / 60:.1f} min",
        f"- Precision: {run.resolved.get('precision', '?')}; seed: {cfg.seed}",
        f"- Last logged losses: {losses or 'none'}",
        f"- Settings: `{ {k: v for k, v in cfg.to_dict().items() if k != 'data'} }`",
        "",
    ]
    if evaluation:
        lines += ["## Evaluation", ""] + [f"- {k}: {v}" for k, v in evaluation.items()] + [""]
    lines += [
        "## Intended use and limits",
        "- Made for creative exploration: sketches, textures, studies, material to work from.",
        "- It can only recombine what is in its training data: it inherits that data's gaps and biases, and a",
        "  model trained on few images can reproduce some of them nearly exactly. Check outputs for copies",
        "  (`genart evaluate`) before publishing them, and respect the rights of the data's authors.",
        "- Outputs carry provenance (genart version, run, checkpoint hash, seed, settings) and the label",
        "  \"AI-generated\"; keep it when you share them.",
        "",
    ]
    write_text(run.path / "MODEL_CARD.md", "\n".join(lines))
