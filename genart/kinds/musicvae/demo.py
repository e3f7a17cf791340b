"""The musicvae kind's section of `genart demo`: a brief run on chorales and a morph between two held-out windows."""

from __future__ import annotations

import html
from typing import Any

import torch

MORPH_TEMPERATURE = 0.3


def section(ctx: Any, about: str, name: str = "musicvae-bach", pieces: int = 60, steps: int = 8) -> str:
    """Train on built-in chorales within the section's minutes, then morph between the first windows of two
    held-out chorales (written as MIDI files and morphed as `genart interpolate` does)."""
    from genart.io.audio import render_wav
    from genart.io.midi import write_midi
    from genart.io.pianoroll import save_roll
    from genart.kinds.musicvae.config import MusicVAEConfig
    from genart.kinds.musicvae.data import grid_score, load_windows
    from genart.models.latent import slerp

    out = ctx.out
    run_dir = out / "runs" / name
    cfg = MusicVAEConfig(data="builtin:bach", max_pieces=pieces, minutes=ctx.minutes, sample_every=0, log_every=20,
                         bars=4, latent=64, hidden=128, embed=32, batch=32, kl_warmup=300)
    ctx.train(cfg, run_dir)
    model = ctx.load(str(run_dir))
    data = load_windows(model.run.config, model.run.resolved)
    source = data.val if len(data.val) >= 2 else data.train
    a, b = out / f"{name}-a.mid", out / f"{name}-b.mid"
    write_midi(grid_score(source[0]), a, {"source": "held-out chorale window", "kind": "data"})
    write_midi(grid_score(source[len(source) // 2]), b, {"source": "held-out chorale window", "kind": "data"})
    # the morph as `genart interpolate --from a.mid --to b.mid` makes it (genart.morph, a service above this layer)
    za, zb = model.sampler.encode(a, 0), model.sampler.encode(b, 0)
    path = slerp(za[0], zb[0], torch.linspace(0, 1, steps))
    steps_ = model.sampler.decode_windows(path, MORPH_TEMPERATURE, [0] * steps)
    morph = grid_score(steps_.reshape(-1, steps_.shape[2]))  # the steps one after the other
    prov = model.provenance(morph_from=a.name, morph_to=b.name, steps=steps, temperature=str(MORPH_TEMPERATURE))
    write_midi(morph, out / f"{name}-morph.mid", prov)
    render_wav(morph, out / f"{name}-morph.wav", prov)
    # each step is a window of 4 bars: every other one shaded, so the steps stand apart
    marks = [[(4 * k + 1, 4 * k + 4, f"step {k + 1}") for k in range(0, steps, 2)]]
    save_roll([morph], out / f"{name}-morph.png", prov, marked=marks, titles=["the morph"])
    for f, w in ((a, source[0]), (b, source[len(source) // 2])):
        render_wav(grid_score(w), f.with_suffix(".wav"), {"source": "held-out chorale window", "ai_generated": "false"})
    summary = f"{steps} steps of 4 bars from one held-out window to the other, temperature {MORPH_TEMPERATURE:g}"
    evaluation = ctx.evaluation(run_dir)
    loss = model.info.get("best", {}).get("val_loss")
    figure = f" Held-out negative ELBO {loss:.1f} nats per window." if loss is not None else ""
    return (f"<p>{html.escape(about)} {model.step} steps.{figure}</p>"
            f'<div class="row"><figure><audio controls src="{name}-a.wav"></audio><figcaption>from (held-out, '
            f'<a href="{name}-a.mid">MIDI</a>)</figcaption></figure>'
            f'<figure><audio controls src="{name}-morph.wav"></audio><figcaption>the morph, {steps} steps of 4 bars '
            f'(<a href="{name}-morph.mid">MIDI</a>)</figcaption></figure>'
            f'<figure><audio controls src="{name}-b.wav"></audio><figcaption>to (held-out, '
            f'<a href="{name}-b.mid">MIDI</a>)</figcaption></figure></div>'
            f'<figure><img src="{name}-morph.png" width="640"><figcaption>the morph\'s piano roll, one step every 4 '
            f"bars</figcaption></figure><p>{html.escape(summary)}</p>{evaluation}"
            f'<p class="cmd">genart interpolate {html.escape(str(run_dir))} --from a.mid --to b.mid --steps 8 '
            f"--out morph.mid --wav</p>"
            f'<p class="cmd">genart generate {html.escape(str(run_dir))} --out x.mid --n 4 --edit density:+1.5</p>')
