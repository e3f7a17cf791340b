"""The copy guard of `genart generate --no-copies`: outputs that copy the training data are rejected and redrawn.

Each output is judged as `genart evaluate` judges copying, and a rejected one is replaced by the output of the next
unused seed after the last one asked for (so the same command always gives the same outputs), at most
`extra_limit(n)` extra draws in all; when that is not enough, a clear error says the run copies its data.

- images: the memorisation test (genart.metrics.distances.memorisation): an image nearer to its nearest training
  image than a third of its mean distance to the next nine (or identical to one) is a near-copy;
- text: a run of more than TEXT_RUN characters found verbatim in the training text (real, unseen text of the same
  author shares at most about 27: measured on held-out Shakespeare, 500-character pieces);
- music: a run of more than MUSIC_RUN (interval, duration) pairs found in the training pieces (genart.kinds.music
  spells pieces as such pairs).

The kind's generate part (or genart.generate, for images) draws, and records `GuardResult.provenance()` in every
output's provenance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from genart.core.errors import GenartError

TEXT_RUN = 50  # characters
MUSIC_RUN = 24  # (interval, duration) pairs


def extra_limit(n: int) -> int:
    """How many extra draws the guard may make for n outputs."""
    return max(16, 4 * n)


@dataclass
class GuardResult:
    """The outputs kept (in the order asked), their seeds, and the seeds rejected as copies."""

    items: list[Any]
    seeds: list[int]
    rejected: list[int] = field(default_factory=list)
    rule: str = ""
    on: bool = True

    def provenance(self) -> dict[str, Any]:
        if not self.on:
            return {"copy_guard": {"on": False, "rule": self.rule}}
        return {"copy_guard": {"on": True, "rejected": len(self.rejected), "rejected_seeds": self.rejected[:100],
                               "rule": self.rule}}

    def summary(self) -> str:
        """One line for the screen ('' when the guard was off and said nothing)."""
        if not self.on:
            return f"copy guard off: {self.rule}" if self.rule else ""
        if not self.rejected:
            return "copy guard: no copies of the training data"
        return (f"copy guard: {len(self.rejected)} near-cop{'y' if len(self.rejected) == 1 else 'ies'} of the training "
                f"data rejected (seeds {', '.join(map(str, self.rejected[:8]))}{' ...' if len(self.rejected) > 8 else ''})"
                f" and redrawn from later seeds")


def next_seeds(taken: set[int], after: int, k: int) -> list[int]:
    out, s = [], after + 1
    while len(out) < k:
        if s not in taken:
            out.append(s)
        s += 1
    return out


def guard(seeds: Sequence[int], make: Callable[[list[int]], list[Any]], is_copy: Callable[[list[Any]], list[bool]],
          rule: str, what: str = "outputs") -> GuardResult:
    """Outputs for `seeds` (make(seeds) -> one item per seed), with each copy (is_copy(items) -> flags) replaced by
    the output of the next unused seed after the largest asked for."""
    seeds = list(seeds)
    items = list(make(seeds))
    flags = list(is_copy(items))
    pending = [i for i, bad in enumerate(flags) if bad]
    rejected = [seeds[i] for i in pending]
    taken, last, drawn, limit = set(seeds), max(seeds), 0, extra_limit(len(seeds))
    while pending:
        if drawn >= limit:
            raise GenartError(f"the copy guard rejected {len(rejected)} of {len(seeds) + drawn} {what} as copies of the "
                              f"training data and gave up after {limit} redraws ({rule})",
                              "this run reproduces its data: train on more data or for fewer steps, raise the "
                              "temperature, or allow copies with --copies")
        new = next_seeds(taken, last, min(len(pending), limit - drawn))
        taken.update(new)
        last, drawn = new[-1], drawn + len(new)
        got = list(make(new))
        clean = []
        for s, item, bad in zip(new, got, is_copy(got), strict=True):
            if bad:
                rejected.append(s)
            else:
                clean.append((s, item))
        for slot, (s, item) in zip(pending, clean, strict=False):  # the first clean seeds fill the first places
            items[slot], seeds[slot] = item, s
        pending = pending[len(clean):]
    return GuardResult(items=items, seeds=seeds, rejected=rejected, rule=rule)


def off(items: list[Any], seeds: list[int], why: str = "") -> GuardResult:
    """No guard: the outputs as drawn (`why` says why, when it was not simply left off)."""
    return GuardResult(items=list(items), seeds=list(seeds), rule=why, on=False)


# --- the judges ----------------------------------------------------------------------------------------------------

def image_judge(training: Any) -> tuple[Callable[[list[Any]], list[bool]], str]:
    """Flags for images (each (C, H, W) in [-1, 1]) that the memorisation test finds near-copies of `training`
    (uint8 N x C x H x W), and the rule in words."""
    import torch

    from genart.metrics.distances import COPY_K, COPY_RATIO, memorisation, pixels

    reference = pixels(training)

    def judge(images: list[Any]) -> list[bool]:
        return memorisation(pixels(torch.stack(images)), reference)["copy"].tolist()

    return judge, (f"memorisation test: nearest training image nearer than {COPY_RATIO:.2g} x the mean distance to "
                   f"the 2nd-{COPY_K}th nearest, or identical")


def run_judge(reference_text: str, run: int, unit: str) -> tuple[Callable[[list[str]], list[bool]], str]:
    """Flags for texts (or pieces spelt as text) holding a run of more than `run` units found verbatim in the
    reference, and the rule in words."""
    from genart.metrics.text import Hashes, copied_runs

    reference = Hashes(reference_text)

    def judge(texts: list[str]) -> list[bool]:
        return [c is not None for c in copied_runs(texts, reference_text, reference, run + 1)]

    return judge, f"a run of more than {run} {unit} found verbatim in the training data"


def training_data(model: Any, asked: bool, load: Callable[[], Any] | None = None) -> tuple[Any, str]:
    """The run's training data, reloaded as it was for training (as `genart evaluate` does; `load()` instead when
    given), and '' ; or, when it is gone, (None, why) when the guard was on by default, and a clear error when
    --no-copies asked for it."""
    from genart.core.errors import DataError

    try:
        return (load() if load else model.spec.load_data(model.run.config, model.run.resolved)), ""
    except GenartError as e:
        if asked:
            raise DataError(f"--no-copies needs the run's training data: {e.message}",
                            f"make {model.run.config.data} available again as it was for training, or use --copies") from None
        return None, f"the run's training data is not available ({e.message})"


def wanted(no_copies: bool | None, default: bool) -> tuple[bool, bool]:
    """(guard on, asked for explicitly) from --no-copies / --copies / neither (the kind's default)."""
    return (default if no_copies is None else no_copies), no_copies is True
