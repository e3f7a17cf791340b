"""The text kind's section of `genart demo`."""

from __future__ import annotations

import html
import shutil
from typing import Any

TEXT_SAMPLES = [  # (prime, temperature, top_k, top_p, seed): a few ways of sampling the same model
    ("ROMEO:\n", "0.8", None, None, 1),
    ("JULIET:\n", "0.6", 40, 0.95, 2),
    ("KING:\nThe sea", "1.0,0.5,0.2", None, None, 3),
]


def section(ctx: Any, data: str, about: str, name: str = "text-shakespeare") -> str:
    """One section of `genart demo` (ctx: genart.demo.DemoContext): train on built-in data, show what it makes."""
    out, minutes = ctx.out, ctx.minutes
    from genart.io.text import write_text_file
    from genart.kinds.text.config import TextConfig

    run_dir = out / "runs" / name
    # a short run: a small validation split, evaluated once, at the end
    cfg = TextConfig(data=data, minutes=minutes, sample_every=0, log_every=20, val_split=0.02)
    ctx.train(cfg, run_dir)
    best = (run_dir / "checkpoints" / "best.safetensors").exists()
    model = ctx.load(str(run_dir), checkpoint="best" if best else "last")
    figures, texts = [], []
    for prime, temperature, top_k, top_p, seed in TEXT_SAMPLES:
        text = model.generate(n=1, prime=prime, length=300, temperature=temperature, top_k=top_k, top_p=top_p,
                              seed=seed)[0]
        texts.append(text)
        settings = f"--prime {prime!r} --temperature {temperature}" + (f" --top-k {top_k}" if top_k else "") + \
            (f" --top-p {top_p}" if top_p else "") + f" --seed {seed} --length 300"
        figures.append(f"<figure style=\"max-width:340px\"><pre>{html.escape(text)}</pre>"
                       f"<figcaption>{html.escape(settings)}</figcaption></figure>")
    write_text_file(out / f"{name}-samples.txt", texts, [s[-1] for s in TEXT_SAMPLES],
                    model.provenance(samples="; ".join(f"prime {p!r}, temperature {t}, top-k {k}, top-p {q}, seed {s}"
                                                       for p, t, k, q, s in TEXT_SAMPLES)))
    shutil.copyfile(run_dir / "metrics.png", out / f"{name}-losses.png")
    evaluation = ctx.evaluation(run_dir)  # also rewrites the model card with the figures
    card = (run_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    loss = ""
    if best:
        v = float(model.info["best"]["val_loss"])
        loss = f" Validation loss {v:.3f} nats ({v / 0.6931:.2f} bits) per character."
    net = f"{cfg.layers} layers of {cfg.hidden} {cfg.cell.upper()} units, {cfg.tokens} tokens"
    return (f"<p>{html.escape(about)} ({net}): {model.step} steps.{loss}</p>"
            f'<div class="row">{"".join(figures)}</div>'
            f'<figure><img src="{name}-losses.png" width="420"><figcaption>losses</figcaption></figure>'
            f"{evaluation}<details><summary>model card</summary><pre>{html.escape(card)}</pre></details>"
            f'<p class="cmd">genart generate {html.escape(str(run_dir))} --prime "ROMEO:" --n 3 --length 500 '
            f"--temperature 0.8</p>")
