"""Fill-in-the-middle (FIM, Bavarian et al. 2022) for the recurrent sequence kinds: marker tokens, the rearranged
training windows, and sampling a middle between a prefix and a suffix.

Four marker ids follow a vocabulary's own ids when a run trains with `--fim` above 0: PRE, SUF, MID and EOM (end of
the middle). A rearranged window reads PRE prefix SUF suffix MID middle EOM (PSM order): the network sees what
comes before and after the gap, then writes the gap and says where it ends. Decoding drops the markers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from genart.core.errors import ConfigError
from genart.models.recurrent import RecurrentLM, Stepper
from genart.models.sequence_sampling import UNIFORM_BLOCK, check_sampling, pick

MARKER_NAMES = ("PRE", "SUF", "MID", "EOM")
MARKERS = len(MARKER_NAMES)
WINDOW_BPTT = 4  # a rearranged window is this many --bptt steps long (the cursor's windows, aligned in every lane)
SUFFIX_BPTT = 0.5  # ... and its suffix at most this many: the network must carry the suffix's start across it
IGNORE = -100  # F.cross_entropy's ignore_index: the target just before a rearranged window (PRE) is not scored
NOT_TRAINED = ("this run was not trained for infilling", "train with --fim 0.5")


@dataclass(frozen=True)
class Markers:
    """The ids of the four markers, after a vocabulary of `base` ids."""

    base: int

    @property
    def pre(self) -> int:
        return self.base

    @property
    def suf(self) -> int:
        return self.base + 1

    @property
    def mid(self) -> int:
        return self.base + 2

    @property
    def eom(self) -> int:
        return self.base + 3

    @property
    def ids(self) -> range:
        return range(self.base, self.base + MARKERS)


def require(markers: Markers | None) -> Markers:
    """The markers of a run trained for infilling, else the clear error."""
    if markers is None:
        raise ConfigError(*NOT_TRAINED)
    return markers


# --- training: windows rearranged in place -------------------------------------------------------------------

def max_suffix(bptt: int) -> int:
    """The longest suffix a training window holds (and infilling reads), in tokens."""
    return max(4, int(SUFFIX_BPTT * bptt))


def cut_points(window: torch.Tensor, boundary: int | None, gen: torch.Generator,
               suffix: int) -> tuple[int, int] | None:
    """Two cut points 0 <= i <= j <= len(window) drawn with `gen`: the suffix window[j:] up to `suffix` tokens long
    (uniform), the prefix end i uniform before it. With a `boundary` id (REMI's Bar) both fall on that id, so the
    middle is whole units (the suffix may then be longer). None when no such pair exists."""
    n = int(window.numel())
    if boundary is None:
        j = n - int(torch.randint(min(suffix, n) + 1, (1,), generator=gen))
        return int(torch.randint(j + 1, (1,), generator=gen)), j
    at = (window == boundary).nonzero().flatten().tolist()
    if len(at) < 2:
        return None
    late = [k for k in range(1, len(at)) if n - at[k] <= suffix] or [len(at) - 1]
    k = late[int(torch.randint(len(late), (1,), generator=gen))]
    return int(at[int(torch.randint(k, (1,), generator=gen))]), int(at[k])


def rearrange(seq: torch.Tensor, markers: Markers, share: float, length: int, gen: torch.Generator,
              boundary: int | None = None, suffix: int | None = None) -> torch.Tensor:
    """Lanes of tokens (lanes, span + 1) with windows of `length` tokens, each with probability `share`, rewritten
    in place: a body of the window's first B tokens (B uniform in 2 .. length - 4) becomes PRE prefix SUF suffix MID
    middle EOM, and the window's tokens after the body follow it as they are, but for the last four (dropped, so
    every lane keeps its length and the cursor its meaning). B varies so that where EOM falls says nothing: the
    network must end the middle where it meets the suffix. Returns the targets' mask: False where the target is a
    window's PRE (the continuation before a window cannot know that a window starts)."""
    lanes, total = seq.shape
    suffix = length if suffix is None else suffix
    keep = torch.ones(lanes, total - 1, dtype=torch.bool)
    if share <= 0 or length <= MARKERS + 1:
        return keep
    for lane in range(lanes):
        for start in range(0, total - length + 1, length):
            if float(torch.rand((), generator=gen)) >= share:
                continue
            window = seq[lane, start:start + length - MARKERS].clone()
            b = int(torch.randint(2, length - MARKERS + 1, (1,), generator=gen))
            body = window[:b]
            cuts = cut_points(body, boundary, gen, suffix)
            if cuts is None:
                continue
            i, j = cuts
            seq[lane, start:start + length] = torch.cat([
                body.new_tensor([markers.pre]), body[:i], body.new_tensor([markers.suf]), body[j:],
                body.new_tensor([markers.mid]), body[i:j], body.new_tensor([markers.eom]), window[b:]])
            if start:
                keep[lane, start - 1] = False
    return keep


def fim_sequence(prefix: Sequence[int], suffix: Sequence[int], middle: Sequence[int], markers: Markers,
                 start: Sequence[int] = ()) -> list[int]:
    """`start` (e.g. BOS), then PRE prefix SUF suffix MID middle: what the network reads before the middle's end."""
    return [*start, markers.pre, *prefix, markers.suf, *suffix, markers.mid, *middle]


# --- sampling --------------------------------------------------------------------------------------------------

@torch.inference_mode()
def infill(model: RecurrentLM, prefix_ids: Sequence[int], suffix_ids: Sequence[int], markers: Markers,
           seeds: Sequence[int], max_length: int, temperatures: list[float], top_k: int | None = None,
           top_p: float | None = None, start: Sequence[int] = (), first: Sequence[int] = (),
           stop: tuple[int, int] | None = None, end_at_eom: bool = True) -> list[list[int]]:
    """The middle between `prefix_ids` and `suffix_ids` for each seed: ids sampled after `start` PRE prefix SUF
    suffix MID `first` until EOM (not included) or `max_length` ids; `first` is the middle's known start (music: a
    Bar), not returned. `stop` = (id, k): a row also ends just before it would write `id` for the k-th time (music:
    a Bar given first and k - 1 sampled make k whole bars); with `end_at_eom` False, EOM is never drawn and only
    `stop` or `max_length` end a row (music: a middle that ended early would need empty bars). Markers are never
    sampled in a middle. Row k draws from its own generator seeded with seeds[k], as in sample_tokens."""
    n = len(seeds)
    check_sampling(n, max_length, top_k, top_p)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    step = Stepper(model)
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    context = fim_sequence(prefix_ids, suffix_ids, first, markers, start)
    logits, state = model(torch.tensor([context], dtype=torch.long, device=device))
    last = logits[:, -1].float().expand(n, -1).clone()
    state = state.expand(-1, -1, n, -1).contiguous()
    banned = torch.tensor([markers.pre, markers.suf, markers.mid, *([] if end_at_eom else [markers.eom])],
                          device=last.device)
    rows: list[list[int]] = [[] for _ in range(n)]
    done = [False] * n
    counts = [0] * n
    uniforms = torch.empty(n, 0)
    for i in range(max_length):
        if i % UNIFORM_BLOCK == 0:
            uniforms = torch.stack([torch.rand(UNIFORM_BLOCK, generator=g) for g in gens])
        last[:, banned] = float("-inf")
        nxt = pick(last, temperatures[i % len(temperatures)], top_k, top_p, uniforms[:, i % UNIFORM_BLOCK]).cpu()
        for k in range(n):
            if done[k]:
                continue
            t = int(nxt[k])
            if t == markers.eom:
                done[k] = True
                continue
            if stop is not None and t == stop[0]:
                counts[k] += 1
                if counts[k] >= stop[1]:
                    done[k] = True
                    continue
            rows[k].append(t)
        if all(done):
            break
        last, state = step(nxt.to(device), state)
    model.train(was_training)
    return rows
