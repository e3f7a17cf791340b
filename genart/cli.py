"""The `genart` command line: parses, calls the Python API, prints. No logic of its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from genart import __version__
from genart.errors import GenartError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="genart: generative art with deep learning. Train on your images, then make new works.")
train_app = typer.Typer(no_args_is_help=True, help="Train a model (resumes when --out already holds the run).")
app.add_typer(train_app, name="train")

out_console = Console()
err_console = Console(stderr=True)
STATE = {"debug": False}

Data = Annotated[str, typer.Option("--data", help="A folder of images, one image, or builtin:digits / builtin:abstract.")]
Out = Annotated[Path, typer.Option("--out", help="The run directory (created, or resumed if it exists).")]


def _version(value: bool) -> None:
    if value:
        out_console.print(f"genart {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    STATE["debug"] = debug


@train_app.command("gan")
def train_gan(
    data: Data,
    out: Out,
    arch: Annotated[str, typer.Option(help="dcgan (convolutional) or mlp (the original design).")] = "dcgan",
    size: Annotated[int, typer.Option(help="Image size: a power of two from 8 to 256.")] = 32,
    channels: Annotated[str, typer.Option(help="auto, 1 (grey), 3 (RGB) or 4 (RGBA).")] = "auto",
    fit: Annotated[str, typer.Option(help="Non-square images: crop (centred), pad or stretch.")] = "crop",
    labels: Annotated[str, typer.Option(help="auto (built-in labels), none, or folders (first-level subfolders).")] = "auto",
    loss: Annotated[str, typer.Option(help="bce (non-saturating) or hinge.")] = "bce",
    augment: Annotated[str, typer.Option(help="DiffAugment: auto (on below 5,000 images), on or off.")] = "auto",
    z_dim: Annotated[int, typer.Option("--z-dim", help="Latent size (0: 100 for mlp, 128 for dcgan).")] = 0,
    width: Annotated[int, typer.Option(help="Base channel width of the dcgan networks.")] = 64,
    lr_g: Annotated[float, typer.Option("--lr-g", help="Generator learning rate.")] = 2e-4,
    lr_d: Annotated[float, typer.Option("--lr-d", help="Discriminator learning rate.")] = 2e-4,
    ema: Annotated[float, typer.Option(help="EMA decay of the generator used for sampling (0: off).")] = 0.999,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 64,
    steps: Annotated[Optional[int], typer.Option(help="Train until this many steps in all.")] = None,  # noqa: UP045
    minutes: Annotated[Optional[float], typer.Option(help="Train for this many minutes in all (default 10 when --steps is absent).")] = None,  # noqa: UP045,E501
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    precision: Annotated[str, typer.Option(help="auto (bf16 where it helps), fp32 or bf16.")] = "auto",
    threads: Annotated[int, typer.Option(help="CPU threads (0: all cores, or OMP_NUM_THREADS).")] = 0,
    sample_every: Annotated[int, typer.Option("--sample-every", help="Write a sample grid every N steps (0: at the end).")] = 200,
    save_every: Annotated[float, typer.Option("--save-every", help="Checkpoint at least every N seconds.")] = 60.0,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", help="Also keep a checkpoint every N steps.")] = 0,
    log_every: Annotated[int, typer.Option("--log-every", help="Log losses every N steps.")] = 10,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete an existing run at --out and start over.")] = False,
) -> None:
    """Train an image GAN on a folder of images or built-in data."""
    from genart.config import GANConfig
    from genart.train import train

    cfg = GANConfig(data=data, arch=arch, size=size, channels=channels, fit=fit, labels=labels, loss=loss,
                    augment=augment, z_dim=z_dim, width=width, lr_g=lr_g, lr_d=lr_d, ema=ema, batch=batch,
                    steps=steps, minutes=minutes, seed=seed, device=device, precision=precision, threads=threads,
                    sample_every=sample_every, save_every=save_every, checkpoint_every=checkpoint_every,
                    log_every=log_every)
    train(cfg, out, fresh=fresh, console=err_console)


@app.command()
def generate(
    run: Annotated[Path, typer.Argument(help="A run directory.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Output file: grid.png, poems.txt, song.mid (text: stdout when absent).")] = None,  # noqa: UP045,E501
    n: Annotated[Optional[int], typer.Option(help="How many outputs (images: seeds SEED .. SEED+N-1; default 64 images).")] = None,  # noqa: UP045,E501
    seed: Annotated[int, typer.Option(help="First seed; seed k always gives the same output.")] = 0,
    seeds: Annotated[Optional[str], typer.Option(help="Explicit seeds, e.g. 0-15 or 3,7,9 (overrides --n/--seed).")] = None,  # noqa: UP045,E501
    truncation: Annotated[Optional[float], typer.Option(help="Images: truncate latents to +-T (e.g. 0.7): less variety, more typical.")] = None,  # noqa: UP045,E501
    class_: Annotated[Optional[str], typer.Option("--class", help="Images: class name or index (conditional runs).")] = None,  # noqa: UP045
    individual: Annotated[Optional[Path], typer.Option(help="Images: also write one PNG per image into this folder.")] = None,  # noqa: UP045
    nrow: Annotated[int, typer.Option(help="Images per grid row (0: square).")] = 0,
    temperature: Annotated[Optional[str], typer.Option(help="Sampling temperature (text: may be a schedule 1.0,0.5,0.2).")] = None,  # noqa: UP045,E501
    prime: Annotated[Optional[str], typer.Option(help="Text: the text to start from.")] = None,  # noqa: UP045
    length: Annotated[Optional[int], typer.Option(help="Text: how many characters (or tokens) to generate.")] = None,  # noqa: UP045
    top_k: Annotated[Optional[int], typer.Option("--top-k", help="Sequences: sample among the K likeliest.")] = None,  # noqa: UP045
    top_p: Annotated[Optional[float], typer.Option("--top-p", help="Sequences: nucleus sampling mass.")] = None,  # noqa: UP045
    stream: Annotated[bool, typer.Option("--stream", help="Text: print tokens as they come.")] = False,
    bars: Annotated[Optional[int], typer.Option(help="Music: how many bars.")] = None,  # noqa: UP045
    primer: Annotated[Optional[Path], typer.Option(help="Music: a MIDI file to continue.")] = None,  # noqa: UP045
    primer_notes: Annotated[Optional[str], typer.Option("--primer-notes", help='Music: start from pitches, e.g. "60 64 67".')] = None,  # noqa: UP045,E501
    wav: Annotated[bool, typer.Option("--wav", help="Music: also render audio.")] = False,
    musicxml: Annotated[bool, typer.Option("--musicxml", help="Music: also write a score.")] = False,
    soundfont: Annotated[Optional[Path], typer.Option(help="Music: render with this .sf2 through FluidSynth.")] = None,  # noqa: UP045
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
) -> None:
    """Generate new works from a trained run: images, text or music, by the run's kind."""
    import genart
    from genart.generate import GenerateOptions, run_generate

    opts = GenerateOptions(out=out, n=n, seed=seed, seeds=seeds, truncation=truncation, class_=class_,
                           individual=individual, nrow=nrow, temperature=temperature, prime=prime, length=length,
                           top_k=top_k, top_p=top_p, stream=stream, bars=bars, primer=primer, primer_notes=primer_notes,
                           wav=wav, musicxml=musicxml, soundfont=soundfont)
    model = genart.load(str(run), checkpoint=checkpoint, device=device)
    message = run_generate(model, opts)
    if message:
        err_console.print(message, highlight=False) if out is None else out_console.print(message, highlight=False)


@app.command()
def interpolate(
    run: Annotated[Path, typer.Argument(help="A run directory.")],
    out: Annotated[Path, typer.Option("--out", help="walk.gif or walk.mp4")],
    frames: Annotated[int, typer.Option(help="Number of frames.")] = 60,
    fps: Annotated[int, typer.Option(help="Frames per second.")] = 20,
    seed: Annotated[int, typer.Option(help="First seed of the key images.")] = 0,
    keys: Annotated[int, typer.Option(help="How many key images the walk passes through.")] = 4,
    loop: Annotated[bool, typer.Option("--loop/--no-loop", help="Return to the first image.")] = True,
    truncation: Annotated[Optional[float], typer.Option(help="Truncate latents to +-T.")] = None,  # noqa: UP045
    class_: Annotated[Optional[str], typer.Option("--class", help="Class name or index (conditional runs).")] = None,  # noqa: UP045
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
) -> None:
    """Write an animation walking smoothly through latent space (spherical interpolation)."""
    import genart
    from genart.api import require_image_kind
    from genart.io.images import save_animation

    if out.suffix.lower() not in (".gif", ".mp4"):
        raise GenartError(f"--out {out} should end in .gif or .mp4", "name it e.g. walk.gif")
    if not 1 <= fps <= 120:
        raise GenartError(f"--fps {fps} is out of range", "use 1 to 120")
    model = genart.load(str(run), checkpoint=checkpoint, device=device)
    require_image_kind(model)
    video = model.walk_tensor(frames, seed, keys, loop, truncation, class_)
    prov = model.provenance(seeds=f"{seed}-{seed + keys - 1}", frames=frames, fps=fps, loop=loop,
                            truncation=truncation, **{"class": class_})
    save_animation(video, out, fps=fps, provenance=prov)
    out_console.print(f"wrote {out} ({frames} frames at {fps} fps) and {out.name}.json")


@app.command()
def info(
    run: Annotated[Path, typer.Argument(help="A run directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a run's kind, data, training progress and last losses."""
    from genart.info import run_info

    facts = run_info(run)
    if as_json:
        print(json.dumps(facts, indent=2, default=str))
        return
    for k, v in facts.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a} {b}" for a, b in v.items())
        out_console.print(f"[bold]{k:>14}[/]  {v}", highlight=False)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where to write the gallery.")] = Path("demo"),
    minutes: Annotated[float, typer.Option(help="Total training time across the demo's models.")] = 3.0,
) -> None:
    """Train small models on built-in data and write an HTML gallery (about 3 minutes on 2 cores)."""
    from genart.demo import run_demo

    index = run_demo(out, minutes=minutes, console=err_console)
    out_console.print(f"gallery: {index}")


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        app(standalone_mode=False)
    except GenartError as e:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {e.message}", highlight=False, soft_wrap=True)
        if e.hint:
            err_console.print(f"[dim]hint:[/] {e.hint}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except _click_exceptions() as e:
        e.show()
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] unexpected {type(e).__name__}: {e}", highlight=False, soft_wrap=True)
        err_console.print("[dim]hint:[/] run again with --debug for the traceback, and report it", highlight=False)
        sys.exit(1)


def _click_exceptions() -> tuple[type[BaseException], ...]:
    import click

    return (click.exceptions.ClickException,)
