"""The registry of kinds: each kind declares itself once, as a `KindSpec`, and everything else is derived from it.

A kind is a folder `genart/kinds/<name>/` whose `__init__.py` holds `KIND = KindSpec(...)`, or a separate package
that adds one through the `genart.kinds` entry-point group (`name = "package.module:KIND"`). The spec names the
kind's config class (its options: the CLI's `genart train NAME` is built from the fields), its parts as lazy
"module:attribute" references (so `genart --help` imports no model), and its **capabilities**. Code outside a kind's
folder asks for a capability (`spec.can(IMAGES)`), never for a kind's name.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from genart.core.config import TrainConfig
from genart.core.errors import ConfigError

ENTRY_POINTS = "genart.kinds"
BUILTIN_PACKAGE = "genart.kinds"

# --- capabilities: what a kind's sampler can do, asked for by the services and interfaces -----------------------
IMAGES = "images"  # sampler.render(z, y) -> images in [-1, 1]; z from seed_latents(seeds, sampler.z_dim)
LATENT = "latent"  # a latent space: interpolation, directions (sampler.first_layer(z, y)), mixing, evolution
ENCODE = "encode"  # sampler.encode / decode / reconstruct / prepare: images to latent codes and back
SEQUENCE = "sequence"  # sampler.generate(n, ..., seeds=...) -> a list of sequences (text, pieces, ...)
TEXT = "text"  # sequences are strings (a prime, streaming, the studio's text panel)
AUDIO = "audio"  # outputs can be rendered as sound (MIDI, WAV; the studio's music panel)
CLASSES = "classes"  # class-conditional when the data has labels (--class)
# an iterative denoiser: sampler.configure(steps, method, guidance), sampler.settings() -> the current ones, and
# sampler.repaint(images, z, y, strength, mask) for image-to-image (strength < 1) and inpainting (mask: 1 = regenerate)
DENOISE = "denoise"
# works in a file encode to latents and back: sampler.encode(path_or_score, window) -> (W, z_dim) and
# sampler.decode(z, temperature, seeds) -> works (music: symusic Scores); genart.morph morphs two files
MORPH = "morph"
CAPABILITIES = frozenset({IMAGES, LATENT, ENCODE, SEQUENCE, TEXT, AUDIO, CLASSES, DENOISE, MORPH})

Ref = str | Callable[..., Any] | type  # "package.module:attribute", or the object itself


def resolve_ref(ref: Ref) -> Any:
    """A lazy "module:attribute" reference imported now (an object is returned as it is)."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class DemoSection:
    """One section of `genart demo`'s gallery: `make(out, minutes, console) -> html` trains on built-in data."""

    name: str
    title: str
    make: Ref
    share: float = 1.0  # its share of the demo's minutes, relative to the other sections
    order: int = 50  # sections are shown in this order
    options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of `make`


@dataclass(frozen=True)
class KindSpec:
    """Everything genart needs to know about a kind.

    data: (cfg, resolved of a resumed run) -> data (with a `.report` ingest report)
    resolve: data -> the facts the model is built from (saved in config.json as `resolved`)
    trainable: the genart.core.trainable.Trainable subclass the one training loop runs
    sampler: (cfg, resolved, state, device) -> the object that generates (see the capabilities above)
    generate: (model, GenerateOptions) -> a one-line summary, writing the outputs of `genart generate` (None: what
        the kind's capabilities give, e.g. image grids for IMAGES)
    evaluate: (EvalContext) -> KindReport for `genart evaluate` (None: what the capabilities give, e.g. the image
        figures for IMAGES; a kind with neither has no evaluation)
    """

    name: str
    config: type[TrainConfig]
    summary: str
    capabilities: frozenset[str]
    data: Ref
    resolve: Ref
    trainable: Ref
    sampler: Ref
    generate: Ref | None = None
    evaluate: Ref | None = None
    demo: tuple[DemoSection, ...] = ()
    data_help: str = "Training data: a folder or a file."
    extras: dict[str, Any] = field(default_factory=dict)  # anything else a kind wants to publish

    def __post_init__(self) -> None:
        unknown = set(self.capabilities) - CAPABILITIES
        if unknown:
            raise ValueError(f"kind {self.name}: unknown capabilities {sorted(unknown)}")
        if self.config.kind != self.name:
            raise ValueError(f"kind {self.name}: its config class says kind {self.config.kind!r}")

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def load_data(self, cfg: TrainConfig, resolved: dict[str, Any]) -> Any:
        return resolve_ref(self.data)(cfg, resolved)

    def resolve_data(self, data: Any) -> dict[str, Any]:
        return resolve_ref(self.resolve)(data)

    def trainable_class(self) -> type:
        return resolve_ref(self.trainable)

    def sampler_class(self) -> type:
        return resolve_ref(self.sampler)


def _builtin_specs() -> list[KindSpec]:
    package = importlib.import_module(BUILTIN_PACKAGE)
    specs = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.ispkg:
            module = importlib.import_module(f"{BUILTIN_PACKAGE}.{info.name}")
            if isinstance(getattr(module, "KIND", None), KindSpec):
                specs.append(module.KIND)
    return specs


def _plugin_specs() -> list[KindSpec]:
    from importlib.metadata import entry_points

    specs = []
    for ep in entry_points(group=ENTRY_POINTS):
        try:
            spec = ep.load()
        except Exception as e:  # noqa: BLE001 - a broken plug-in must not take genart down with it
            import sys

            print(f"warning: the genart kind plug-in {ep.name!r} ({ep.value}) failed to load: {e}", file=sys.stderr)
            continue
        if isinstance(spec, KindSpec):
            specs.append(spec)
    return specs


@cache
def all_kinds() -> dict[str, KindSpec]:
    """Every kind: genart's own (genart/kinds/*/), then the plug-ins' (a plug-in cannot replace a built-in kind)."""
    kinds: dict[str, KindSpec] = {spec.name: spec for spec in _builtin_specs()}
    for spec in _plugin_specs():
        if spec.name in kinds:
            import sys

            print(f"warning: a genart kind plug-in ({spec.config.__module__}) is named {spec.name!r} like a kind genart "
                  "already has; it is ignored (rename it)", file=sys.stderr)
            continue
        kinds[spec.name] = spec
    return kinds


def get_kind(name: str) -> KindSpec:
    try:
        return all_kinds()[name]
    except KeyError:
        raise ConfigError(f"unknown kind {name!r}", f"kinds: {', '.join(sorted(all_kinds()))}") from None


def config_class(kind: str) -> type[TrainConfig]:
    return get_kind(kind).config


def kinds_that(capability: str) -> list[str]:
    """Names of the kinds with a capability, for help texts and errors."""
    return [name for name, spec in all_kinds().items() if spec.can(capability)]
