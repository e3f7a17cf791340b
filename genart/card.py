"""MODEL_CARD.md: what a run was trained on, how, and its limits."""

from __future__ import annotations

from typing import Any

from genart.core.files import write_text
from genart.core.privacy import checkpoint_privacy, privacy_lines
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
    lines += wishes_lines(data)
    lines += [
        "",
        "## Training",
        f"- Steps: {last.get('step', 0)}; training time: {last.get('elapsed_s', 0) / 60:.1f} min",
        f"- Precision: {run.resolved.get('precision', '?')}; seed: {cfg.seed}",
        f"- Last logged losses: {losses or 'none'}",
        f"- Settings: `{ {k: v for k, v in cfg.to_dict().items() if k != 'data'} }`",
        "",
    ]
    lines += privacy_lines(checkpoint_privacy(run.last_checkpoint) if run.has_checkpoint() else None, cfg)
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


def wishes_lines(data: dict[str, Any], shown: int = 20) -> list[str]:
    """The data's own wishes, as the ingest report recorded them: opt-outs honoured or overridden
    (--ignore-opt-out), paths a .genartignore excluded, and the licences and rights notices found, counted."""
    lines: list[str] = []
    skipped = data.get("skipped_files") or []
    ignored = sum(1 for s in skipped if "ignored by .genartignore" in s.get("reason", ""))
    if ignored:
        lines.append(f"- Excluded by `.genartignore`: {ignored} path(s), not read")
    if "respect_opt_out" in data:
        used = data.get("opted_out_used") or []
        if data["respect_opt_out"]:
            lines.append(f"- Opt-outs honoured: {data.get('opted_out', 0)} image(s) whose metadata forbids AI training "
                         "(IPTC/PLUS DataMining in XMP, C2PA training-mining) were skipped")
        else:
            lines.append(f"- **Opt-outs ignored (--ignore-opt-out)**: {len(used)} image(s) whose metadata forbids AI "
                         "training were trained on all the same" + (":" if used else ""))
            lines += [f"  - `{u['file']}`: {u['reason']}" for u in used[:shown]]
            if len(used) > shown:
                lines.append(f"  - ... and {len(used) - shown} more (all in `data.json`)")
    rights = data.get("rights")
    if isinstance(rights, dict):
        notices = rights.get("notices") or {}
        lines.append(f"- Licences and rights notices (EXIF Copyright/Artist, XMP rights): {rights.get('files_with_notices', 0)}"
                     f" file(s) carry one, {rights.get('files_without', 0)} carry none"
                     + (":" if notices else ""))
        lines += [f"  - {k} ({v} file{'s' if v != 1 else ''})" for k, v in list(notices.items())[:shown]]
        more = len(notices) - shown + int(rights.get("not_listed", 0))
        if more > 0:
            lines.append(f"  - ... and {more} more (in `data.json`)")
    return lines
