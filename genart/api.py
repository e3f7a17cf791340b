"""The Python API over a trained run: `genart.load(run)` gives a Model that generates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from genart.core.device import pick_device
from genart.core.errors import ConfigError, GenartError
from genart.core.files import file_hash
from genart.core.registry import IMAGES, KindSpec, get_kind, kinds_that
from genart.core.rundir import RunDir
from genart.core.seeds import MAX_N, parse_seeds  # noqa: F401 - parse_seeds is part of the API
from genart.core.version import __version__
from genart.models.latent import seed_latents, walk


class Model:
    """A trained run, ready to generate. Image kinds turn seeds (or latents) into images."""

    def __init__(self, run: RunDir, sampler: Any, info: dict[str, Any], checkpoint: Path) -> None:
        self.run = run
        self.sampler = sampler
        self.info = info
        self.checkpoint = checkpoint
        self.checkpoint_hash = file_hash(checkpoint)

    @classmethod
    def load(cls, path: str | Path, checkpoint: str = "last", device: str = "auto",
             warn: Callable[[str], None] | None = None) -> Model:
        """Load a run's checkpoint (`last`, `best` or a file name). When `last` is unreadable the newest readable
        checkpoint is loaded, and `warn` (default: a line on stderr) says which steps were lost."""
        run = RunDir.open(path)
        state, info, ckpt = run.load_checkpoint(checkpoint, warn=warn or _warn)
        spec = get_kind(run.config.kind)
        sampler = spec.sampler_class()(run.config, run.resolved, state["model"], pick_device(device))
        return cls(run, sampler, info, ckpt)

    @property
    def kind(self) -> str:
        return self.run.config.kind

    @property
    def spec(self) -> KindSpec:
        return get_kind(self.kind)

    def can(self, capability: str) -> bool:
        """Whether the run's kind has a capability (genart.core.registry: IMAGES, LATENT, ENCODE, SEQUENCE, ...)."""
        return self.spec.can(capability)

    def require(self, capability: str, what: str) -> None:
        """A one-line error when the run's kind lacks a capability a command needs (`what` the command makes)."""
        if not self.can(capability):
            kinds = ", ".join(kinds_that(capability)) or "none installed"
            raise GenartError(f"{self.run.name} is a {self.kind} run; {what}", f"use it with a run of a kind that can ({kinds})")

    @property
    def classes(self) -> list[str]:
        return list(getattr(self.sampler, "classes", []))

    @property
    def step(self) -> int:
        return int(self.info.get("step", 0))

    def provenance(self, **settings: Any) -> dict[str, Any]:
        """What every output carries: who made it, from which weights, with which settings."""
        report = self.run.path / "data.json"  # the training data's ingest report, by hash
        data = {"data_report_sha256": file_hash(report, 64)} if report.is_file() else {}
        return {"genart_version": __version__, "run": self.run.name, "kind": self.kind,
                "checkpoint": self.checkpoint.name, "checkpoint_sha256": self.checkpoint_hash,
                "step": self.step, **data, **settings, "ai_generated": "true"}

    # --- image kinds -------------------------------------------------------------------------------

    def class_index(self, cls_: str | int | None) -> int | None:
        """A class given by name or index, checked against the run's classes."""
        if cls_ is None:
            return None
        names = self.classes
        if not names:
            raise ConfigError("--class given, but this run was not trained with classes",
                              "train with labelled data (--labels folders, builtin:digits) to use --class")
        if str(cls_) in names:
            return names.index(str(cls_))
        if str(cls_).isdigit() and int(cls_) < len(names):
            return int(cls_)
        raise ConfigError(f"class {cls_!r} is not one of this run's classes", f"classes: {', '.join(names[:30])}")

    def latents(self, seeds: list[int], truncation: float | None = None, cls_: str | int | None = None,
                temperature: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent codes and class labels for seeds; temperature scales the codes (1: as trained)."""
        if truncation is not None and not 0 < truncation <= 10:
            raise ConfigError(f"--truncation {truncation} is out of range", "use a value in (0, 10], e.g. 0.7")
        if temperature is not None and not 0 <= temperature <= 10:
            raise ConfigError(f"--temperature {temperature} is out of range", "use a value in [0, 10], e.g. 0.8")
        z, y = seed_latents(seeds, self.sampler.z_dim, truncation, len(self.classes))
        if temperature is not None:
            z = z * temperature
        idx = self.class_index(cls_)
        if idx is not None:
            y = torch.full_like(y, idx)
        return z, y

    def generate_tensor(self, n: int = 16, seed: int = 0, seeds: list[int] | None = None,
                        truncation: float | None = None, cls_: str | int | None = None,
                        temperature: float | None = None, edits: list[tuple[int, float]] | dict[int, float] | None = None,
                        mix: int | None = None) -> torch.Tensor:
        """Images in [-1, 1], (N, C, H, W). Image k comes from seed `seed + k` (or seeds[k]). `edits` move along the
        run's latent directions ({K: AMOUNT}); `mix` crosses each latent with seed `mix` (see genart.controls)."""
        seeds = seeds if seeds is not None else list(range(seed, seed + n))
        if not 1 <= len(seeds) <= MAX_N:
            raise ConfigError(f"--n {len(seeds)} is out of range", f"ask for 1 to {MAX_N} images")
        if edits or mix is not None:
            from genart.controls import control_latents

            z, y = control_latents(self, seeds, truncation, cls_, temperature, edits, mix)
        else:
            z, y = self.latents(seeds, truncation, cls_, temperature)
        return self.sampler.render(z, y)

    def directions(self, k: int = 8) -> Any:
        """The run's first k latent directions, found without labels (see genart.controls)."""
        from genart.controls import directions

        return directions(self, k)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        """Image kinds: `n` PIL images (the same seed always gives the same image). Other kinds: their
        sampler's own `generate` (text: strings; music: pieces)."""
        if not self.can(IMAGES):
            return self.sampler.generate(*args, **kwargs)
        from genart.io.images import to_pil

        return to_pil(self.generate_tensor(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        """Kind-specific methods (a VAE's encode/decode/reconstruct, ...) come from the sampler."""
        sampler = self.__dict__.get("sampler")
        if sampler is not None and not name.startswith("_") and hasattr(sampler, name):
            return getattr(sampler, name)
        raise AttributeError(f"{type(self).__name__} of kind {self.__dict__.get('run') and self.kind!r} has no {name!r}")

    def walk_tensor(self, frames: int = 60, seed: int = 0, keys: int = 4, loop: bool = True,
                    truncation: float | None = None, cls_: str | int | None = None) -> torch.Tensor:
        """Frames of a smooth spherical walk through `keys` seed latents, (T, C, H, W) in [-1, 1]."""
        if not 2 <= frames <= 2000:
            raise ConfigError(f"--frames {frames} is out of range", "use 2 to 2000 frames")
        if not 2 <= keys <= 64:
            raise ConfigError(f"--keys {keys} is out of range", "use 2 to 64 key images")
        z, y = self.latents(list(range(seed, seed + keys)), truncation, cls_)
        path = walk(z, frames, loop)
        if truncation is not None:
            path = path.clamp(-truncation, truncation)
        # the class follows the nearest key image along the walk
        nearest = torch.cdist(path, torch.cat([z, z[:1]]) if loop else z).argmin(1) % keys
        return self.sampler.render(path, y[nearest])


def require_image_kind(model: Model) -> None:
    model.require(IMAGES, "this command makes images")


def _warn(message: str) -> None:
    import sys

    print(f"warning: {message}", file=sys.stderr)
