"""The diffusion kind's section of `genart demo`: samples, a walk through the noise, inpainting and image-to-image."""

from __future__ import annotations

import html
import shutil
from typing import Any

import torch

STRENGTHS = (0.2, 0.4, 0.6, 0.8, 1.0)


def section(ctx: Any, data: str, name: str, size: int, about: str) -> str:
    """Train on built-in data, then show what the run makes and how it can be steered."""
    from genart.io.images import save_animation, save_grid
    from genart.kinds.diffusion.config import DiffusionConfig

    out = ctx.out
    run_dir = out / "runs" / name
    cfg = DiffusionConfig(data=data, size=size, minutes=ctx.minutes, sample_every=0, log_every=20)
    ctx.train(cfg, run_dir)
    model = ctx.load(str(run_dir))
    settings = model.sampler.settings()
    save_grid(model.generate_tensor(64, seed=0), out / f"{name}-grid.png", model.provenance(seeds="0-63", **settings))
    save_animation(model.walk_tensor(frames=32, seed=0, keys=4), out / f"{name}-walk.gif", fps=12,
                   provenance=model.provenance(seeds="0-3", frames=32, **settings))
    save_grid(_edits(model), out / f"{name}-edits.png", model.provenance(seeds="0-7", content=(
        "rows: a sample; its centre masked; the centre inpainted; image-to-image at strengths "
        + ", ".join(map(str, STRENGTHS)))), nrow=8)
    shutil.copyfile(run_dir / "metrics.png", out / f"{name}-losses.png")
    evaluation = ctx.evaluation(run_dir)
    card = (run_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    steps = f"{settings['sample_steps']} {settings['sampler']} steps"
    return (f"<p>{html.escape(about)} {model.step} training steps; sampled with {steps}.</p>"
            f'<div class="row"><figure><img src="{name}-grid.png"><figcaption>64 samples, seeds 0-63</figcaption></figure>'
            f'<figure><img src="{name}-walk.gif" width="256"><figcaption>a walk through the starting noise (spherical '
            "interpolation between seeds)</figcaption></figure>"
            f'<figure><img src="{name}-losses.png" width="420"><figcaption>loss</figcaption></figure></div>'
            f'<figure><img src="{name}-edits.png" width="520"><figcaption>row 1: eight samples; row 2: their centres '
            "masked; row 3: the centres inpainted (genart inpaint); rows 4-8: image-to-image from row 1 at strengths "
            f"{', '.join(map(str, STRENGTHS))} (--init-image, --strength)</figcaption></figure>"
            f"{evaluation}<details><summary>model card</summary><pre>{html.escape(card)}</pre></details>"
            f'<p class="cmd">genart generate {html.escape(str(run_dir))} --out grid.png --seed 7 --sample-steps 16</p>'
            f'<p class="cmd">genart inpaint {html.escape(str(run_dir))} --image in.png --mask mask.png --out out.png</p>')


def _edits(model: Any) -> torch.Tensor:
    """Rows of 8: samples, masked, inpainted, then image-to-image at each strength (other seeds' noise)."""
    seeds = list(range(8))
    base = model.generate_tensor(seeds=seeds)
    c, h, w = base.shape[1:]
    mask = torch.zeros(1, 1, h, w)
    mask[..., h // 4:3 * h // 4, w // 4:3 * w // 4] = 1
    z, _ = model.latents([s + 100 for s in seeds])
    _, y0 = model.latents(seeds)
    rows = [base, base * (1 - mask) + mask * torch.tensor([1.0, -1.0, 1.0][:c]).view(1, c, 1, 1),
            model.sampler.repaint(base, z, y0, mask=mask)]
    rows += [model.sampler.repaint(base, z, y0, strength=s) for s in STRENGTHS]
    return torch.cat(rows)
