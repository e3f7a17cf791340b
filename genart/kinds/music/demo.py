"""The music kind's section of `genart demo`."""

from __future__ import annotations

import html
import shutil
from typing import Any


def section(ctx: Any, about: str, name: str = "music-bach", pieces: int = 60, bars: int = 8) -> str:
    """One section of `genart demo` (ctx: genart.demo.DemoContext): train on built-in data, show what it makes."""
    out, minutes = ctx.out, ctx.minutes
    from genart.io.audio import render_wav
    from genart.io.midi import write_midi
    from genart.io.pianoroll import save_roll
    from genart.kinds.music.config import MusicConfig
    from genart.metrics.music import STATS

    run_dir = out / "runs" / name
    cfg = MusicConfig(data="builtin:bach", max_pieces=pieces, minutes=minutes, sample_every=0, log_every=20)
    ctx.train(cfg, run_dir)
    best = (run_dir / "checkpoints" / "best.safetensors").exists()
    model = ctx.load(str(run_dir), checkpoint="best" if best else "last")
    piece = model.generate(n=1, bars=bars, seed=0, temperature=0.9, top_k=20, top_p=0.95)[0]
    prov = model.provenance(seed=0, bars=bars, temperature="0.9", top_k=20, top_p=0.95,
                            invalid_tokens=piece.invalid_tokens)
    write_midi(piece.score, out / f"{name}.mid", prov)
    render_wav(piece.score, out / f"{name}.wav", prov)
    save_roll([piece.score], out / f"{name}-roll.png", prov, titles=["seed 0"])
    shutil.copyfile(run_dir / "metrics.png", out / f"{name}-losses.png")
    evaluation = ctx.evaluation(run_dir)  # also rewrites the model card with the figures
    bach = model.sampler.data_statistics
    rows = "".join(f"<tr><td>{k.replace('_', ' ')}</td><td>{piece.stats[k]:.3f}</td>"
                   f"<td>{bach[k]['mean']:.3f} &plusmn; {bach[k]['sd']:.3f}</td></tr>" for k in STATS if k in bach)
    loss = f" Held-out loss {model.info['best']['val_loss']:.3f} nats per token." if best else ""
    return (f"<p>{html.escape(about)} {model.step} steps.{loss}</p>"
            f'<div class="row"><figure><audio controls src="{name}.wav"></audio><figcaption>a generated chorale, '
            f'{bars} bars, seed 0 (<a href="{name}.mid">MIDI</a>; {piece.invalid_tokens} invalid tokens dropped)'
            f"</figcaption></figure>"
            f'<figure><img src="{name}-roll.png" width="640"><figcaption>its piano roll (one colour per voice)'
            f"</figcaption></figure>"
            f'<figure><img src="{name}-losses.png" width="420"><figcaption>losses</figcaption></figure></div>'
            f"<table><tr><th>statistic</th><th>this chorale</th><th>Bach (training pieces, mean &plusmn; sd)</th></tr>"
            f"{rows}</table><p>Distances to Bach's figures, not scores: a loop of one bar beats Bach on scale and "
            f"groove consistency.</p>{evaluation}"
            f'<p class="cmd">genart generate {html.escape(str(run_dir))} --out chorale.mid --bars 16 --wav --roll chorale.png '
            f"--temperature 0.9 --top-k 20 --seed 4</p>")
