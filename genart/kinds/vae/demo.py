"""The vae kind's section of `genart demo`."""

from __future__ import annotations

import html
import shutil
from typing import Any


def section(ctx: Any, data: str, name: str, size: int, about: str) -> str:
    """One section of `genart demo` (ctx: genart.demo.DemoContext): train on built-in data, show what it makes."""
    out, minutes = ctx.out, ctx.minutes
    import dataclasses

    from genart.data.image_data import load_images
    from genart.io.images import save_animation, save_grid
    from genart.kinds.vae.config import VAEConfig
    from genart.kinds.vae.model import split_indices, stack_pairs, to_signed

    run_dir = out / "runs" / name
    cfg = VAEConfig(data=data, size=size, minutes=minutes, sample_every=200, log_every=20)
    ctx.train(cfg, run_dir)
    best = (run_dir / "checkpoints" / "best.safetensors").exists()
    model = ctx.load(str(run_dir), checkpoint="best" if best else "last")
    labelled = load_images(dataclasses.replace(cfg, labels="auto"))  # labels only to pick two different images
    _, held_out = split_indices(len(labelled), cfg.val_split, cfg.seed)  # images the model never trained on
    x = labelled.images[held_out[:16]]
    save_grid(stack_pairs(to_signed(x), model.reconstruct(x), 8), out / f"{name}-recon.png",
              model.provenance(images=f"16 held-out images of {data}"), nrow=8)
    save_grid(model.generate_tensor(64, seed=0), out / f"{name}-samples.png", model.provenance(seeds="0-63"))
    a = int(held_out[0])
    b = next((int(i) for i in held_out if labelled.labels is None or labelled.labels[i] != labelled.labels[a]), a)
    frames = model.morph(labelled.images[a], labelled.images[b], frames=48, loop=True)
    save_animation(frames, out / f"{name}-morph.gif", fps=16,
                   provenance=model.provenance(**{"from": f"{data} #{a}", "to": f"{data} #{b}"}, frames=48, loop=True))
    shutil.copyfile(run_dir / "metrics.png", out / f"{name}-losses.png")
    evaluation = ctx.evaluation(run_dir)  # also rewrites the model card with the figures
    card = (run_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    figures = f" Held-out negative ELBO {model.info['best']['val_loss']:.1f} nats per image." if best else ""
    return (f"<p>{html.escape(about)} {model.step} steps.{figures}</p>"
            f'<div class="row"><figure><img src="{name}-recon.png"><figcaption>held-out images (odd rows) and their '
            f"reconstructions (even rows)</figcaption></figure>"
            f'<figure><img src="{name}-samples.png"><figcaption>64 samples from the prior, seeds 0-63</figcaption></figure>'
            f'<figure><img src="{name}-morph.gif" width="256"><figcaption>a morph between two held-out images'
            f"</figcaption></figure>"
            f'<figure><img src="{name}-losses.png" width="420"><figcaption>losses</figcaption></figure></div>'
            f"{evaluation}<details><summary>model card</summary><pre>{html.escape(card)}</pre></details>"
            f'<p class="cmd">genart interpolate {html.escape(str(run_dir))} --from a.png --to b.png --out morph.gif</p>')
