"""The `genart` command line: parses, calls the Python API, prints. No logic of its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from genart.cli_images import Guidance, Sampler, SampleSteps, add_image_commands
from genart.cli_provenance import SignOption, add_provenance_commands, apply_sign_option
from genart.cli_train import add_train_commands
from genart.core.errors import GenartError
from genart.core.registry import TEXT, all_kinds
from genart.core.version import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="genart: generative art with deep learning. Train on your images, then make new works.")
train_app = typer.Typer(no_args_is_help=True, help="Train a model (resumes when --out already holds the run).")
app.add_typer(train_app, name="train")
add_train_commands(train_app, all_kinds(), lambda cfg, out, fresh: _train(cfg, out, fresh))

out_console = Console()
err_console = Console(stderr=True)
STATE = {"debug": False}


def _train(cfg: Any, out: Path, fresh: bool) -> None:
    """Train (or resume) a run: what every `genart train KIND` command calls with the config it built."""
    from genart.train import train

    train(cfg, out, fresh=fresh, console=err_console)


def _version(value: bool) -> None:
    if value:
        out_console.print(f"genart {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
    sign: SignOption = None,
) -> None:
    STATE["debug"] = debug
    apply_sign_option(sign)


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
    roll: Annotated[Optional[Path], typer.Option("--roll", help="Music: also draw the pieces as a piano roll (PNG).")] = None,  # noqa: UP045
    infill: Annotated[Optional[str], typer.Option("--infill", help='Fill a gap so it leads into what follows: music "5-8" regenerates bars 5 to 8 of --primer; text: the marker inside --prime, "{}" when given without a value.')] = None,  # noqa: UP045,E501
    edit: Annotated[Optional[list[str]], typer.Option("--edit", help="Images: K:AMOUNT moves along latent direction K (see genart directions); repeatable.")] = None,  # noqa: UP045,E501
    mix: Annotated[Optional[int], typer.Option("--mix", help="Images: cross each latent with this seed's (first half of z from the image's seed, the rest from this one).")] = None,  # noqa: UP045,E501
    sample_steps: SampleSteps = None,
    sampler: Sampler = None,
    guidance: Guidance = None,
    init_image: Annotated[Optional[Path], typer.Option("--init-image", help="Diffusion: redraw this image from each seed's noise (image-to-image).")] = None,  # noqa: UP045,E501
    strength: Annotated[Optional[float], typer.Option(help="Diffusion: how much of --init-image is redrawn, in (0, 1] (default 0.6; 1: from pure noise).")] = None,  # noqa: UP045,E501
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    no_copies: Annotated[Optional[bool], typer.Option("--no-copies/--copies", help="Reject outputs that copy the training data and redraw them from later seeds (default: on for text, music and denoisers, off for other image runs, where it costs more than generating).")] = None,  # noqa: UP045,E501
) -> None:
    """Generate new works from a trained run: images, text or music, by the run's kind."""
    import genart
    from genart.generate import GenerateOptions, run_generate

    opts = GenerateOptions(out=out, n=n, seed=seed, seeds=seeds, truncation=truncation, class_=class_,
                           individual=individual, nrow=nrow, temperature=temperature, prime=prime, length=length,
                           top_k=top_k, top_p=top_p, stream=stream, bars=bars, primer=primer, primer_notes=primer_notes,
                           wav=wav, musicxml=musicxml, soundfont=soundfont, roll=roll, infill=infill, edit=edit, mix=mix,
                           sample_steps=sample_steps, sampler=sampler, guidance=guidance, init_image=init_image,
                           strength=strength, no_copies=no_copies)
    model = genart.load(str(run), checkpoint=checkpoint, device=device)
    message = run_generate(model, opts)
    if message:
        err_console.print(message, highlight=False) if out is None else out_console.print(message, highlight=False)


add_image_commands(app, out_console)  # genart inpaint, listed after generate
add_provenance_commands(app, out_console)  # genart keys init, genart verify


@app.command()
def interpolate(
    run: Annotated[Path, typer.Argument(help="A run directory.")],
    out: Annotated[Path, typer.Option("--out", help="walk.gif or walk.mp4 (music morphs: morph.mid)")],
    frames: Annotated[int, typer.Option(help="Number of frames.")] = 60,
    fps: Annotated[int, typer.Option(help="Frames per second.")] = 20,
    seed: Annotated[int, typer.Option(help="First seed of the key images.")] = 0,
    keys: Annotated[int, typer.Option(help="How many key images the walk passes through.")] = 4,
    loop: Annotated[Optional[bool], typer.Option("--loop/--no-loop", help="Return to the first image (default: on for walks, off for --from/--to).")] = None,  # noqa: UP045,E501
    truncation: Annotated[Optional[float], typer.Option(help="Truncate latents to +-T.")] = None,  # noqa: UP045
    class_: Annotated[Optional[str], typer.Option("--class", help="Class name or index (conditional runs).")] = None,  # noqa: UP045
    from_: Annotated[Optional[Path], typer.Option("--from", help="VAE: morph from this image (with --to) instead of walking the prior.")] = None,  # noqa: UP045,E501
    to: Annotated[Optional[Path], typer.Option("--to", help="VAE: the image the morph ends on.")] = None,  # noqa: UP045
    steps: Annotated[int, typer.Option(help="Music morphs: steps (windows) from --from to --to.")] = 8,
    window: Annotated[int, typer.Option(help="Music morphs: which window of each file (0: the first).")] = 0,
    temperature: Annotated[Optional[float], typer.Option(help="Music morphs: sampling temperature (default 0.3).")] = None,  # noqa: UP045,E501
    wav: Annotated[bool, typer.Option("--wav", help="Music morphs: also write a WAV beside the MIDI.")] = False,
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
) -> None:
    """Write an animation walking smoothly through latent space (spherical interpolation), or morphing between two
    images (--from/--to, VAE runs); music runs that encode (musicvae) morph two MIDI files into morph.mid."""
    import genart
    from genart.api import require_image_kind
    from genart.core.registry import IMAGES, MORPH
    from genart.io.images import save_animation

    if out.suffix.lower() not in (".gif", ".mp4", ".mid", ".midi"):  # .mid: music morphs (checked below)
        raise GenartError(f"--out {out} should end in .gif or .mp4 (an image run) or .mid (a music morph)",
                          "name it e.g. walk.gif, or morph.mid")
    if not 1 <= fps <= 120:
        raise GenartError(f"--fps {fps} is out of range", "use 1 to 120")
    if (from_ is None) != (to is None):
        raise GenartError("--from and --to go together", "give both ends of the morph, or neither to walk the prior")
    model = genart.load(str(run), checkpoint=checkpoint, device=device)
    if not model.can(IMAGES) and model.can(MORPH):
        from genart.morph import morph_file as morph_music

        if from_ is None or to is None:
            raise GenartError(f"{model.run.name} is a {model.kind} run: it morphs between two files",
                              "give --from a.mid --to b.mid")
        out_console.print(morph_music(model, from_, to, out, steps, window, temperature, seed, wav),
                          highlight=False, soft_wrap=True)
        return
    if out.suffix.lower() not in (".gif", ".mp4"):
        raise GenartError(f"--out {out} should end in .gif or .mp4", "name it e.g. walk.gif")
    require_image_kind(model)
    if from_ is not None and to is not None:
        from genart.codec import morph_file

        out_console.print(morph_file(model, from_, to, out, frames, fps, bool(loop)), highlight=False, soft_wrap=True)
        return
    loop = True if loop is None else loop
    video = model.walk_tensor(frames, seed, keys, loop, truncation, class_)
    prov = model.provenance(seeds=f"{seed}-{seed + keys - 1}", frames=frames, fps=fps, loop=loop,
                            truncation=truncation, **{"class": class_})
    save_animation(video, out, fps=fps, provenance=prov)
    out_console.print(f"wrote {out} ({frames} frames at {fps} fps) and {out.name}.json")


Images = Annotated[Optional[list[Path]], typer.Option("--images", help="Image files or a folder; more files may follow: --images A.png B.png")]  # noqa: UP045,E501
EXTRA_ARGS = {"allow_extra_args": True}  # `--images A.png B.png`: the files after the first arrive as extra arguments


@app.command(context_settings=EXTRA_ARGS)
def reconstruct(
    ctx: typer.Context,
    run: Annotated[Path, typer.Argument(help="A VAE run directory.")],
    out: Annotated[Path, typer.Option("--out", help="recon.png: the images above, their reconstructions below.")],
    images: Images = None,
    nrow: Annotated[int, typer.Option(help="Images per row.")] = 8,
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
) -> None:
    """Encode images and decode them again (VAE runs): what the model keeps of them."""
    import genart
    from genart.codec import reconstruct_files

    paths = [*(images or []), *map(Path, ctx.args)]
    model = genart.load(str(run), checkpoint=checkpoint, device=device)
    out_console.print(reconstruct_files(model, paths, out, nrow), highlight=False, soft_wrap=True)


@app.command(context_settings=EXTRA_ARGS)
def encode(
    ctx: typer.Context,
    run: Annotated[Path, typer.Argument(help="A VAE run directory.")],
    out: Annotated[Path, typer.Option("--out", help="z.npy: one latent code per image; names beside it in z.npy.json.")],
    images: Images = None,
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
) -> None:
    """Compress images to latent codes (VAE runs): files in sorted name order, their names kept beside the codes."""
    import genart
    from genart.codec import encode_files

    paths = [*(images or []), *map(Path, ctx.args)]
    model = genart.load(str(run), checkpoint=checkpoint, device=device)
    out_console.print(encode_files(model, paths, out), highlight=False, soft_wrap=True)


@app.command()
def decode(
    run: Annotated[Path, typer.Argument(help="A VAE run directory.")],
    latents: Annotated[Path, typer.Option("--latents", help="z.npy written by genart encode (or any (N, latent) array).")],
    out: Annotated[Path, typer.Option("--out", help="A folder for the images (named after the encoded files when known).")],
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
) -> None:
    """Turn latent codes back into images (VAE runs): the inverse of genart encode."""
    import genart
    from genart.codec import decode_files

    model = genart.load(str(run), checkpoint=checkpoint, device=device)
    out_console.print(decode_files(model, latents, out), highlight=False, soft_wrap=True)


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
def evaluate(
    run: Annotated[Path, typer.Argument(help="A run directory.")],
    n: Annotated[Optional[int], typer.Option(help="Samples to generate (images: 1000; text: 100).")] = None,  # noqa: UP045
    seed: Annotated[int, typer.Option(help="First seed of the samples (and of the random splits).")] = 0,
    features: Annotated[Optional[Path], typer.Option(help="Images: a feature network file (eval/features.safetensors of another run) so figures compare across runs.")] = None,  # noqa: UP045,E501
    length: Annotated[Optional[int], typer.Option(help="Text: characters per sample (default 500).")] = None,  # noqa: UP045
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the evaluation as JSON instead of a table.")] = False,
) -> None:
    """Measure quality, diversity and copying against the training data, offline; writes evaluation.json,
    evaluation.html and MODEL_CARD.md into the run."""
    from genart.evaluate import evaluate as run_evaluation
    from genart.evaluate import table

    result = run_evaluation(run, n=n, seed=seed, features=features, length=length, checkpoint=checkpoint, device=device,
                            console=err_console)
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    out_console.print(table(result))
    out_console.print(f"wrote {run / 'evaluation.json'}, {run / 'evaluation.html'} and {run / 'MODEL_CARD.md'}",
                      highlight=False, soft_wrap=True)


@app.command()
def directions(
    run: Annotated[Path, typer.Argument(help="A run with a latent space (gan, vae, ...).")],
    out: Annotated[Path, typer.Option("--out", help="dirs.png: one row per direction, from -SPAN to +SPAN.")],
    k: Annotated[int, typer.Option("--k", help="How many directions (1 to 16).")] = 8,
    seed: Annotated[int, typer.Option(help="The seed whose image is moved along each direction.")] = 0,
    steps: Annotated[int, typer.Option(help="Images per direction.")] = 7,
    span: Annotated[float, typer.Option(help="How far each row goes, in standard deviations.")] = 3.0,
    truncation: Annotated[Optional[float], typer.Option(help="Truncate the latent to +-T first.")] = None,  # noqa: UP045
    class_: Annotated[Optional[str], typer.Option("--class", help="Class name or index (conditional runs).")] = None,  # noqa: UP045
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
) -> None:
    """Find latent directions without labels (GANSpace-style PCA) and show a strip of images along each; use them
    with genart generate --edit K:AMOUNT."""
    import genart
    from genart.api import require_image_kind
    from genart.controls import direction_strip
    from genart.io.images import save_grid

    if out.suffix.lower() != ".png":
        raise GenartError(f"--out {out} should be a .png file", "name it e.g. dirs.png")
    model = genart.load(str(run), checkpoint=checkpoint, device=device)
    require_image_kind(model)
    images, dirs = direction_strip(model, seed, k, steps, span, truncation, class_)
    prov = model.provenance(seed=seed, directions=len(dirs), steps=steps, span=span, method=dirs.method)
    save_grid(images, out, prov, nrow=steps)
    explained = ", ".join(f"{i}: {100 * float(e):.1f}%" for i, e in enumerate(dirs.explained))
    out_console.print(f"wrote {out}: {len(dirs)} directions ({dirs.method}), rows from -{span:g} to +{span:g} std\n"
                      f"variance explained: {explained}", highlight=False, soft_wrap=True)


@app.command()
def evolve(
    run: Annotated[Path, typer.Argument(help="A run with a latent space (gan, vae, ...).")],
    session: Annotated[str, typer.Option("--session", help="Session name (kept in RUN/studio/sessions/NAME.json).")],
    out: Annotated[Path, typer.Option("--out", help="next.png: the generation's grid, numbered from 0 at the top left.")],
    like: Annotated[str, typer.Option("--like", help="Numbers of the images you like, e.g. 3,7.")] = "",
    dislike: Annotated[str, typer.Option("--dislike", help="Numbers of the images you dislike.")] = "",
    n: Annotated[int, typer.Option(help="Population size when starting a session.")] = 12,
    seed: Annotated[int, typer.Option(help="First seed of generation 0.")] = 0,
    truncation: Annotated[Optional[float], typer.Option(help="Truncate generation 0's latents to +-T.")] = None,  # noqa: UP045
    class_: Annotated[Optional[str], typer.Option("--class", help="Class of generation 0 (conditional runs).")] = None,  # noqa: UP045
    nrow: Annotated[int, typer.Option(help="Images per grid row (0: square).")] = 0,
    length: Annotated[Optional[int], typer.Option(help="Text: characters (or tokens) each round adds.")] = None,  # noqa: UP045
    temperature: Annotated[Optional[float], typer.Option(help="Text: the first round's temperature (later rounds adapt it).")] = None,  # noqa: UP045,E501
    prime: Annotated[Optional[str], typer.Option(help="Text: what generation 0 starts from.")] = None,  # noqa: UP045
    checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
) -> None:
    """Steer by preference: start a session (no --like), then mark works liked or disliked to breed the next
    generation from the liked ones (images and music: select, cross over, mutate in latent space; text: continue
    and recombine the liked texts)."""
    import genart
    from genart.evolve import check_session_name, evolve_cli

    check_session_name(session)

    def numbers(text: str, what: str) -> list[int]:
        try:
            return [int(x) for x in text.replace(" ", "").split(",") if x]
        except ValueError:
            raise GenartError(f"--{what} {text!r} is not a list of image numbers", "write e.g. 3,7") from None

    likes, dislikes = numbers(like, "like"), numbers(dislike, "dislike")
    model = genart.load(str(run), checkpoint=checkpoint, device=device)
    if model.can(TEXT):
        from genart.evolve_text import evolve_text_cli

        message = evolve_text_cli(model, session, likes, dislikes, out, n, seed, length, temperature, prime)
    else:
        message = evolve_cli(model, session, likes, dislikes, out, n, seed, truncation, class_, nrow)
    out_console.print(message, highlight=False, soft_wrap=True)


@app.command()
def studio(
    runs_dir: Annotated[Path, typer.Argument(help="A folder of run directories (or one run).")] = Path("runs"),
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind (127.0.0.1: this computer only).")] = "127.0.0.1",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
) -> None:
    """Open the studio: a local web page to explore runs with sliders, evolve images, and listen to music."""
    from genart.studio import serve

    serve(runs_dir, host=host, port=port, device=device, console=err_console)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where to write the gallery.")] = Path("demo"),
    minutes: Annotated[float, typer.Option(help="Total training time across the demo's models.")] = 4.0,
    quick: Annotated[bool, typer.Option("--quick", hidden=True, help="Evaluate on few samples (a smoke test).")] = False,
) -> None:
    """Train small models on built-in data and write an HTML gallery (about 7 minutes on 2 cores)."""
    from genart.demo import run_demo

    index = run_demo(out, minutes=minutes, console=err_console, quick=quick)
    out_console.print(f"gallery: {index}")


OPTIONAL_VALUES = {"--infill": "{}"}  # options that may stand alone: the value they take then


def with_optional_values(args: list[str]) -> list[str]:
    """`--infill` given bare (last, or before another option) takes its default value ("{}": the text marker)."""
    out: list[str] = []
    for i, a in enumerate(args):
        out.append(a)
        if a in OPTIONAL_VALUES and (i + 1 == len(args) or args[i + 1].startswith("--")):
            out.append(OPTIONAL_VALUES[a])
    return out


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        app(args=with_optional_values(sys.argv[1:]), standalone_mode=False)
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
    """Usage errors: typer bundles its own click in recent versions, older ones use click itself."""
    try:
        from typer._click.exceptions import ClickException
    except ImportError:
        from click.exceptions import ClickException
    return (ClickException,)
