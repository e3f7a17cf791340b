"""`genart inpaint`, and the denoiser options it shares with `genart generate`. Parses, calls genart.inpaint, prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

SampleSteps = Annotated[Optional[int], typer.Option("--sample-steps", help="Diffusion: sampling steps (1 to 1000; default: the run's, e.g. 16).")]  # noqa: UP045,E501
Sampler = Annotated[Optional[str], typer.Option("--sampler", help="Diffusion: euler (DDIM), heun or dpm (DPM-Solver++ 2M; default: the run's).")]  # noqa: UP045,E501
Guidance = Annotated[Optional[float], typer.Option("--guidance", help="Diffusion: classifier-free guidance scale, 0 to 20 (class-conditional runs; 1: none).")]  # noqa: UP045,E501


def add_image_commands(app: typer.Typer, console: Any) -> None:
    """Register the commands of this module on `app`; `console` prints their one-line summaries."""

    @app.command()
    def inpaint(
        run: Annotated[Path, typer.Argument(help="A run with a denoiser (diffusion).")],
        image: Annotated[Path, typer.Option("--image", help="The image to repaint (fitted to the run's size as its training images were).")],  # noqa: E501
        mask: Annotated[Path, typer.Option("--mask", help="A mask image: white = regenerate, black (or transparent) = keep.")],  # noqa: E501
        out: Annotated[Path, typer.Option("--out", help="out.png: the image with the masked area regenerated (a grid with --n > 1).")],  # noqa: E501
        seed: Annotated[int, typer.Option(help="First seed; seed k always gives the same result.")] = 0,
        n: Annotated[int, typer.Option(help="How many variants (seeds SEED .. SEED+N-1).")] = 1,
        sample_steps: SampleSteps = None,
        sampler: Sampler = None,
        guidance: Guidance = None,
        class_: Annotated[Optional[str], typer.Option("--class", help="Class name or index (conditional runs).")] = None,  # noqa: UP045
        nrow: Annotated[int, typer.Option(help="Variants per grid row (0: square).")] = 0,
        checkpoint: Annotated[str, typer.Option(help="last, best, or a checkpoint file name.")] = "last",
        device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps.")] = "auto",
    ) -> None:
        """Regenerate the masked area of an image (runs with a denoiser), keeping every other pixel."""
        import genart
        from genart.inpaint import inpaint_files

        model = genart.load(str(run), checkpoint=checkpoint, device=device)
        message = inpaint_files(model, image, mask, out, seed=seed, n=n, steps=sample_steps, method=sampler,
                                guidance=guidance, cls_=class_, nrow=nrow)
        console.print(message, highlight=False, soft_wrap=True)
