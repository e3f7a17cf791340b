"""`genart evaluate`: is a model good, diverse and original? Offline figures for every kind.

Each kind has an evaluator (`KindSpec.evaluate`, imported only when used) that takes an `EvalContext` and returns
a `KindReport` (see genart.metrics). This module runs it, then writes into the run:

- `evaluation.json`: the figures (each with its floor and ceiling), the details, the provenance of the model, the
  data and (images) the feature network;
- `evaluation.html`: a short page with the table and the pictures or texts beside it (files under `eval/`);
- `MODEL_CARD.md`, rewritten with the evaluation figures.

A kind plugs in through its registry entry (`KindSpec.evaluate`, e.g. genart/kinds/music/evaluate.py); a kind
that declares none is judged by what its capabilities give (IMAGES: genart.metrics.images).
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from genart.api import Model
from genart.core.errors import ConfigError, GenartError
from genart.core.files import atomic_path, write_json
from genart.core.registry import IMAGES, KindSpec, resolve_ref
from genart.core.version import __version__
from genart.metrics import EvalContext, Figure, KindReport

JSON_FILE = "evaluation.json"
HTML_FILE = "evaluation.html"
EVAL_DIR = "eval"


def evaluator(spec: KindSpec) -> Callable[[EvalContext], KindReport]:
    """The kind's own evaluator, else what its capabilities give (IMAGES: every image figure)."""
    if spec.evaluate is not None:
        return resolve_ref(spec.evaluate)
    if spec.can(IMAGES):
        from genart.metrics.images import evaluate_images

        return evaluate_images
    raise GenartError(f"genart evaluate does not know how to judge {spec.name} runs",
                      f"the {spec.name} kind declares no evaluation")


def evaluate(run: str | Path, n: int | None = None, seed: int = 0, features: str | Path | None = None,
             length: int | None = None, checkpoint: str = "last", device: str = "auto",
             feature_steps: int | None = None, console: Console | None = None) -> dict[str, Any]:
    """Evaluate a run; writes evaluation.json, evaluation.html and MODEL_CARD.md into it and returns the JSON.

    n: samples to generate (images: 1000; text: 100); seed: the first seed; features: a feature network file
    (images); length: characters per sample (text: 500); feature_steps: training steps of the run's own feature
    network (images: 600)."""
    console = console or Console(stderr=True)
    t0 = time.monotonic()
    model = Model.load(str(run), checkpoint=checkpoint, device=device)
    fn = evaluator(model.spec)
    images = model.can(IMAGES)
    if features is not None and not images:
        raise ConfigError(f"--features is for image runs; {model.run.name} is a {model.kind} run", "leave --features out")
    if length is not None and images:
        raise ConfigError(f"--length is for sequence runs; {model.run.name} is a {model.kind} run", "leave --length out")
    if seed < 0:
        raise ConfigError(f"--seed {seed} is negative", "use a seed of 0 or more")
    out = model.run.path / EVAL_DIR
    out.mkdir(parents=True, exist_ok=True)
    ctx = EvalContext(model=model, n=n, seed=seed, out=out, console=console,
                      features=Path(features) if features is not None else None, feature_steps=feature_steps,
                      length=length, load_data=lambda: model.spec.load_data(model.run.config, model.run.resolved))
    report = fn(ctx)
    result = {
        "genart_version": __version__,
        "run": model.run.name,
        "kind": model.kind,
        "checkpoint": model.checkpoint.name,
        "checkpoint_sha256": model.checkpoint_hash,
        "step": model.step,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - t0, 1),
        "options": {"n": n, "seed": seed, "length": length, "features": str(features) if features else None},
        "columns": report.columns,
        "figures": [f.to_dict() for f in report.figures],
        "data": report.data,
        "details": report.details,
        "pictures": report.pictures,
    }
    if report.data.get("matches_training") is False:
        console.print(f"[yellow]warning[/]: the data at {report.data.get('source')} changed since {model.run.name} was "
                      "trained (another content hash); the figures compare with the data as it is now", highlight=False)
    path = model.run.path
    write_json(path / JSON_FILE, result)
    write_html(path / HTML_FILE, result, report.html)
    from genart.card import write_model_card

    write_model_card(model.run, evaluation=card_lines(result, model.run.path))
    return result


# --- presenting it ---------------------------------------------------------------------------------------------

def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, (int, float)) and float(v).is_integer() and abs(v) < 1e7:
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def table(result: dict[str, Any]) -> Table:
    cols = result["columns"]
    t = Table(title=f"{result['run']} ({result['kind']}, step {result['step']})", title_justify="left")
    t.add_column("figure")
    t.add_column(cols.get("model", "model"), justify="right")
    t.add_column(cols.get("floor", "floor"), justify="right")
    t.add_column(cols.get("ceiling", "ceiling"), justify="right")
    t.add_column("better", justify="center")
    for f in result["figures"]:
        t.add_row(f["label"], fmt(f["model"]), fmt(f["floor"]), fmt(f["ceiling"]), f["better"] or "")
    return t


def copies_beside(result: dict[str, Any], run_path: Path) -> str:
    """The near-copy share of this run beside those of the other evaluated runs in the same folder that were trained
    on the same data (same content hash), e.g. a diffusion run beside a GAN: diffusion models copy training images
    more than GANs do (Carlini et al. 2023), so the card puts the figures side by side. "" when there are none."""
    import json

    def share(r: dict[str, Any]) -> float | None:
        return next((f["model"] for f in r.get("figures", []) if f.get("key") == "near_copies"), None)

    mine, digest = share(result), result.get("data", {}).get("content_hash")
    if mine is None or not digest:
        return ""
    found = []
    for other in sorted(run_path.parent.glob(f"*/{JSON_FILE}")):
        if other.parent.resolve() == run_path.resolve():
            continue
        try:
            r = json.loads(other.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(r, dict) and r.get("data", {}).get("content_hash") == digest and share(r) is not None:
            found.append(f"{r.get('run', other.parent.name)} ({r.get('kind', '?')}, step {r.get('step', '?')}): "
                         f"{fmt(share(r))}")
    return f"this run: {fmt(mine)}; " + "; ".join(found) if found else ""


def card_lines(result: dict[str, Any], run_path: Path | None = None) -> dict[str, str]:
    """The evaluation as MODEL_CARD.md lines: each figure with its floor and ceiling, and the near-copy share beside
    other evaluated runs on the same data in the same folder."""
    cols = result["columns"]
    lines = {"Evaluated": f"step {result['step']} ({result['checkpoint']}), {result['created']}; every figure and "
                          f"the pictures: `{JSON_FILE}`, `{HTML_FILE}`"}
    for f in result["figures"]:
        beside = [f"{cols.get(c, c)}: {fmt(f[c])}" for c in ("floor", "ceiling") if f[c] is not None]
        lines[f["label"]] = fmt(f["model"]) + (f" ({'; '.join(beside)})" if beside else "")
    net = result["details"].get("feature_network")
    if net:
        lines["Feature network"] = (f"{net.get('arch')} ({net.get('source')}, sha256 {net.get('sha256')}); distances "
                                    "compare only within one feature network")
    others = copies_beside(result, run_path) if run_path is not None else ""
    if others:
        lines["Near-copies beside other runs on the same data"] = others
    if result["data"].get("matches_training") is False:
        lines["Warning"] = "the training data changed after training; the figures use the data as it is now"
    return lines


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em}}
table{{border-collapse:collapse}} td,th{{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:right}}
td:first-child,th:first-child{{text-align:left}} td.note{{text-align:left;color:#666;font-size:.85em}}
img{{image-rendering:pixelated}} figure{{display:inline-block;margin:0 1em 1em 0;vertical-align:top}}
figure.text{{max-width:340px}} figcaption{{font-size:.8em;color:#666;max-width:420px}}
pre{{white-space:pre-wrap;background:#f4f4f4;padding:.6em;font-size:.8em}} mark{{background:#fd8}}
.small{{font-size:.85em;color:#555}}</style></head><body>
<h1>{title}</h1>
<p class="small">{meta}</p>
{table}
{body}
<h3>Provenance</h3><pre>{provenance}</pre>
</body></html>
"""


def table_html(result: dict[str, Any]) -> str:
    cols = result["columns"]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in
                   ("figure", cols.get("model", "model"), cols.get("floor", "floor"), cols.get("ceiling", "ceiling"),
                    "better", ""))
    rows = "".join(
        f"<tr><td>{html.escape(f['label'])}</td><td><b>{fmt(f['model'])}</b></td><td>{fmt(f['floor'])}</td>"
        f"<td>{fmt(f['ceiling'])}</td><td>{html.escape(f['better'] or '')}</td>"
        f"<td class=\"note\">{html.escape(f['note'])}</td></tr>" for f in result["figures"])
    return f"<table><tr>{head}</tr>{rows}</table>"


def write_html(path: Path, result: dict[str, Any], body: str) -> None:
    import json

    meta = (f"genart {result['genart_version']}, {result['kind']} run, step {result['step']}, checkpoint "
            f"{result['checkpoint']} (sha256 {result['checkpoint_sha256']}), evaluated {result['created']} in "
            f"{result['seconds']} s. Columns: the model; the floor ({result['columns'].get('floor')}); the ceiling "
            f"({result['columns'].get('ceiling')}).")
    prov = {"data": result["data"], **{k: v for k, v in result["details"].items() if k in ("feature_network", "sets")}}
    page = PAGE.format(title=html.escape(f"Evaluation: {result['run']}"), meta=html.escape(meta),
                       table=table_html(result), body=body,
                       provenance=html.escape(json.dumps(prov, indent=2, default=str)))
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def gallery_html(run_dir: Path, page_dir: Path, console: Console | None = None, **options: Any) -> str:
    """Evaluate `run_dir` and return its figures as an HTML fragment for a page in `page_dir` (the demo gallery):
    the table, the closest pairs (images) or the longest copied substring (text), and a link to evaluation.html."""
    import os

    result = evaluate(run_dir, console=console, **options)
    rel = Path(os.path.relpath(Path(run_dir).resolve(), Path(page_dir).resolve())).as_posix()
    parts = [table_html(result)]
    if "eval/closest.png" in result["pictures"]:
        memo = result["details"].get("memorisation", {})
        parts.append(f'<figure><img src="{html.escape(rel)}/eval/closest.png"><figcaption>the generated images closest '
                     f"to a training image, above it; {memo.get('near_copies', 0)} near-copies in "
                     f"{memo.get('generated', '?')}</figcaption></figure>")
    copy = (result["details"].get("longest_copy") or {}).get("model") or {}
    if copy.get("length"):
        parts.append(f"<p>Longest passage copied from the training text ({copy['length']} characters): "
                     f"<mark>{html.escape(copy['text'])}</mark></p>")
    parts.append(f'<p><a href="{html.escape(rel)}/{HTML_FILE}">the full evaluation</a> '
                 f"(genart evaluate, {result['seconds']} s)</p>")
    return "<h3>Evaluation</h3>" + "".join(parts)


__all__ = ["evaluate", "evaluator", "table", "table_html", "card_lines", "gallery_html", "Figure",
           "KindReport"]
