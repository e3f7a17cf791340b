"""Batched sampling from a recurrent sequence network: the hidden state is carried (constant work per token), with
a temperature schedule, top-k and top-p; row k draws its randomness from its own seed."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from genart.core.errors import ConfigError
from genart.models.recurrent import RecurrentLM, Stepper

MAX_SAMPLES = 4096
MAX_LENGTH = 1_000_000
UNIFORM_BLOCK = 256  # sampling draws each row's random numbers this many at a time

# --- sampling ----------------------------------------------------------------------------------------

def parse_temperature(value: float | str | Sequence[float] | None, default: float = 1.0) -> list[float]:
    """1.0, "0.8" or "1.0,0.5,0.2" (a schedule, cycled per token) to a list of temperatures in [0, 10]."""
    if value is None or value == "":
        return [default]
    if isinstance(value, (int, float)):
        temps = [float(value)]
    elif isinstance(value, str):
        try:
            temps = [float(t) for t in value.split(",")]
        except ValueError:
            raise ConfigError(f"--temperature {value!r} is not a number or a list of numbers",
                              "write e.g. 0.8, or a schedule 1.0,0.5,0.2") from None
    else:
        temps = [float(t) for t in value]
    if not temps or any(not (0 <= t <= 10) or math.isnan(t) for t in temps):
        raise ConfigError(f"--temperature {value} is out of range", "use values in [0, 10]; 0 is greedy, 0.8 is typical")
    return temps


def check_sampling(n: int, length: int, top_k: int | None, top_p: float | None) -> None:
    if not 1 <= n <= MAX_SAMPLES:
        raise ConfigError(f"--n {n} is out of range", f"ask for 1 to {MAX_SAMPLES} samples")
    if not 1 <= length <= MAX_LENGTH:
        raise ConfigError(f"--length {length} is out of range", f"ask for 1 to {MAX_LENGTH:,} tokens")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"--top-k {top_k} must be at least 1", "1 is greedy; 40 is typical")
    if top_p is not None and not 0 < top_p <= 1:
        raise ConfigError(f"--top-p {top_p} is out of range", "use a value in (0, 1], e.g. 0.95")


def pick(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None,
         uniforms: torch.Tensor) -> torch.Tensor:
    """Next ids (N,) from logits (N, V): greedy at temperature 0, else sampled by inverse CDF with `uniforms` (N,)."""
    logits = logits.float()
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.kthvalue(logits.shape[-1] - top_k + 1, dim=-1, keepdim=True).values  # the k-th largest
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, -1)
    if top_p is not None and top_p < 1:
        sorted_p, order = probs.sort(-1, descending=True)
        before = sorted_p.cumsum(-1) - sorted_p  # mass of the likelier tokens
        sorted_p = sorted_p.masked_fill(before >= top_p, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_p)
    cdf = probs.cumsum(-1)
    u = uniforms.to(cdf.device, cdf.dtype).unsqueeze(-1) * cdf[:, -1:]
    idx = torch.searchsorted(cdf, u, right=True).squeeze(-1)
    idx = idx.clamp_(max=logits.shape[-1] - 1)
    # never land on a zero-probability id through rounding at the top of the CDF
    bad = probs.gather(-1, idx.unsqueeze(-1)).squeeze(-1) <= 0
    if bool(bad.any()):
        idx = torch.where(bad, probs.argmax(-1), idx)
    return idx


@torch.inference_mode()
def sample_tokens(model: RecurrentLM, prime: list[int], n: int, length: int, seeds: list[int],
                  temperatures: list[float], top_k: int | None = None, top_p: float | None = None,
                  on_token: Callable[[int, torch.Tensor], None] | None = None,
                  banned: Sequence[int] = ()) -> torch.Tensor:
    """`length` new ids for each of `n` rows after the `prime` ids, (n, length), in fp32.

    The prime runs through the network once; then each token is one step of the recurrence (constant work per
    token), batched over the rows. Row k's randomness comes from its own generator seeded with seeds[k], so a seed
    gives the same text whatever the other rows are. `on_token(i, ids)` sees each new column as it comes. The
    `banned` ids (infilling markers) are never drawn."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    step = Stepper(model)
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    out = torch.empty(n, length, dtype=torch.long)
    logits, state = model(torch.tensor([prime], dtype=torch.long, device=device))
    last = logits[:, -1].float().expand(n, -1)
    state = state.expand(-1, -1, n, -1).contiguous()
    ban = torch.tensor(list(banned), dtype=torch.long, device=last.device) if banned else None
    uniforms = torch.empty(n, 0)
    for i in range(length):
        if ban is not None:
            last = last.index_fill(-1, ban, float("-inf"))
        if i % UNIFORM_BLOCK == 0:  # each row's next block of random numbers, from its own generator
            uniforms = torch.stack([torch.rand(UNIFORM_BLOCK, generator=g) for g in gens])
        t = temperatures[i % len(temperatures)]
        nxt = pick(last, t, top_k, top_p, uniforms[:, i % UNIFORM_BLOCK])
        out[:, i] = nxt.cpu()
        if on_token is not None:
            on_token(i, out[:, i])
        if i + 1 < length:
            last, state = step(nxt, state)
    model.train(was_training)
    return out
