"""The gan kind's section of `genart demo`."""

from __future__ import annotations

import html
import shutil
from typing import Any


def section(ctx: Any, data: str, name: str, size: int, about: str, **options: Any) -> str:
    """One section of `genart demo` (ctx: genart.demo.DemoContext): train on built-in data, show what it makes.
    `options`: other GANConfig fields from the section's entry (e.g. upsample, loss)."""
    out, minutes = ctx.out, ctx.minutes
    from genart.io.images import save_animation, save_grid
    from genart.kinds.gan.config import GANConfig

    run_dir = out / "runs" / name
    cfg = GANConfig(data=data, size=size, minutes=minutes, sample_every=0, log_every=20, **options)
    ctx.train(cfg, run_dir)
    model = ctx.load(str(run_dir))
    save_grid(model.generate_tensor(64, seed=0), out / f"{name}-grid.png", model.provenance(seeds="0-63"))
    save_animation(model.walk_tensor(frames=48, seed=0, keys=4), out / f"{name}-walk.gif", fps=16,
                   provenance=model.provenance(seeds="0-3", frames=48))
    shutil.copyfile(run_dir / "metrics.png", out / f"{name}-losses.png")
    lineage, _ = ctx.lineage(model)  # controls: one evolved lineage, steered toward seed 999's image
    save_grid(lineage, out / f"{name}-lineage.png", model.provenance(session="demo (simulated user)"), nrow=len(lineage))
    evaluation = ctx.evaluation(run_dir)  # also rewrites the model card with the figures
    card = (run_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    studio = (f'<figure><img src="{name}-lineage.png" width="520"><figcaption>an evolved lineage: the target, then the '
              "image a simulated user liked best in each generation</figcaption></figure>"
              f'<p class="cmd">genart studio {html.escape(str(run_dir.parent))}  # sliders, like/dislike, evolve</p>')
    return (f"<p>{html.escape(about)} {model.step} steps.</p>{studio}"
            f'<div class="row"><figure><img src="{name}-grid.png"><figcaption>64 samples, seeds 0-63</figcaption></figure>'
            f'<figure><img src="{name}-walk.gif" width="256"><figcaption>a walk through latent space</figcaption></figure>'
            f'<figure><img src="{name}-losses.png" width="420"><figcaption>losses</figcaption></figure></div>'
            f"{evaluation}<details><summary>model card</summary><pre>{html.escape(card)}</pre></details>"
            f'<p class="cmd">genart generate {html.escape(str(run_dir))} --out grid.png --seed 7</p>')
