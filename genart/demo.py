"""`genart demo`: small models trained on built-in data, and an HTML gallery of what they make."""

from __future__ import annotations

import html
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from genart.runs import atomic_path


@dataclass
class Section:
    """One part of the gallery: a title, a share of the time budget, and a function that fills it."""

    title: str
    share: float
    make: Callable[[Path, float, Console], str]  # (demo dir, minutes, console) -> HTML body


def _gan_section(data: str, name: str, size: int, about: str) -> Callable[[Path, float, Console], str]:
    def make(out: Path, minutes: float, console: Console) -> str:
        import genart
        from genart.config import GANConfig
        from genart.io.images import save_animation, save_grid
        from genart.train import train

        run_dir = out / "runs" / name
        cfg = GANConfig(data=data, size=size, minutes=minutes, sample_every=0, log_every=20)
        train(cfg, run_dir, console=console)
        model = genart.load(str(run_dir))
        save_grid(model.generate_tensor(64, seed=0), out / f"{name}-grid.png", model.provenance(seeds="0-63"))
        save_animation(model.walk_tensor(frames=48, seed=0, keys=4), out / f"{name}-walk.gif", fps=16,
                       provenance=model.provenance(seeds="0-3", frames=48))
        shutil.copyfile(run_dir / "metrics.png", out / f"{name}-losses.png")
        card = (run_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
        return (f"<p>{html.escape(about)} {model.step} steps.</p>"
                f'<div class="row"><figure><img src="{name}-grid.png"><figcaption>64 samples, seeds 0-63</figcaption></figure>'
                f'<figure><img src="{name}-walk.gif" width="256"><figcaption>a walk through latent space</figcaption></figure>'
                f'<figure><img src="{name}-losses.png" width="420"><figcaption>losses</figcaption></figure></div>'
                f"<details><summary>model card</summary><pre>{html.escape(card)}</pre></details>"
                f'<p class="cmd">genart generate {html.escape(str(run_dir))} --out grid.png --seed 7</p>')

    return make


SECTIONS: list[Section] = [
    Section("GAN: abstract compositions", 0.5,
            _gan_section("builtin:abstract", "gan-abstract", 32,
                         "A DCGAN trained on colourful compositions that genart paints itself.")),
    Section("GAN: handwritten digits", 0.5,
            _gan_section("builtin:digits", "gan-digits", 32,
                         "A class-conditional DCGAN trained on scikit-learn's 1,797 handwritten digits.")),
]

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>genart demo</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;background:#111;color:#eee}}
img{{image-rendering:pixelated;border-radius:4px}} figure{{display:inline-block;margin:0 1em 1em 0;vertical-align:top}}
figcaption{{font-size:.8em;color:#aaa}} pre{{white-space:pre-wrap;background:#222;padding:1em}}
.cmd{{font-family:monospace;color:#8c8}} h2{{border-bottom:1px solid #444}}</style></head>
<body><h1>genart demo</h1><p>Every picture here was made by models trained just now, on this machine, from built-in
data. All outputs are AI-generated and carry provenance metadata.</p>{body}</body></html>
"""


def run_demo(out: str | Path, minutes: float = 3.0, console: Console | None = None) -> Path:
    """Train every section's model within `minutes` in all and write out/index.html."""
    console = console or Console(stderr=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    total = sum(s.share for s in SECTIONS)
    for s in SECTIONS:
        console.rule(s.title)
        body = s.make(out, minutes * s.share / total, console)
        parts.append(f"<h2>{html.escape(s.title)}</h2>{body}")
    index = out / "index.html"
    with atomic_path(index) as tmp:
        tmp.write_text(PAGE.format(body="\n".join(parts)), encoding="utf-8")
    return index
