"""`genart demo`: small models trained on built-in data, and an HTML gallery of what they make."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from genart.core.files import atomic_path
from genart.core.registry import IMAGES, TEXT, DemoSection, all_kinds, get_kind, resolve_ref
from genart.core.rundir import RunDir


@dataclass
class DemoContext:
    """What a kind's demo section gets: where to write, its share of the minutes, and the services it may use."""

    out: Path
    minutes: float
    console: Console
    quick: bool = False  # a smoke test: evaluations on few samples (figures noisier, minutes fewer)

    def train(self, cfg: Any, run_dir: Path) -> Any:
        from genart.train import train

        return train(cfg, run_dir, console=self.console)

    def load(self, run_dir: str | Path, checkpoint: str = "last") -> Any:
        import genart

        return genart.load(str(run_dir), checkpoint=checkpoint)

    def evaluation(self, run_dir: Path) -> str:
        """Evaluate the run (rewriting its model card with the figures) and return the figures as HTML."""
        from genart.evaluate import gallery_html

        return gallery_html(run_dir, self.out, self.console, **self._evaluation_options(run_dir))

    def _evaluation_options(self, run_dir: Path) -> dict[str, Any]:
        if not self.quick:
            return {}
        spec = get_kind(RunDir.open(run_dir).config.kind)
        if spec.can(IMAGES):
            return {"n": 64, "feature_steps": 20}
        return {"n": 4, "length": 100 if spec.can(TEXT) else None}

    def lineage(self, model: Any) -> Any:
        """One lineage evolved by a simulated user, steered toward seed 999's image (see genart.evolve)."""
        from genart.evolve import simulated_lineage

        return simulated_lineage(model)


def sections() -> list[tuple[Any, DemoSection]]:
    """Every kind's demo sections, in their order."""
    found = [(spec, s) for spec in all_kinds().values() for s in spec.demo]
    return sorted(found, key=lambda pair: (pair[1].order, pair[1].name))


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>genart demo</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;background:#111;color:#eee}}
img{{image-rendering:pixelated;border-radius:4px}} figure{{display:inline-block;margin:0 1em 1em 0;vertical-align:top}}
figcaption{{font-size:.8em;color:#aaa}} pre{{white-space:pre-wrap;background:#222;padding:1em}}
.cmd{{font-family:monospace;color:#8c8}} h2{{border-bottom:1px solid #444}}</style></head>
<body><h1>genart demo</h1><p>Every picture here was made by models trained just now, on this machine, from built-in
data. All outputs are AI-generated and carry provenance metadata.</p>{body}</body></html>
"""


def run_demo(out: str | Path, minutes: float = 4.0, console: Console | None = None, quick: bool = False) -> Path:
    """Train every section's model within `minutes` in all and write out/index.html (quick: cheap evaluations)."""
    console = console or Console(stderr=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    chosen = sections()
    total = sum(s.share for _, s in chosen)
    for _, s in chosen:
        console.rule(s.title)
        ctx = DemoContext(out=out, minutes=minutes * s.share / total, console=console, quick=quick)
        body = resolve_ref(s.make)(ctx, **{"name": s.name, **s.options})
        parts.append(f"<h2>{html.escape(s.title)}</h2>{body}")
    index = out / "index.html"
    with atomic_path(index) as tmp:
        tmp.write_text(PAGE.format(body="\n".join(parts)), encoding="utf-8")
    return index
