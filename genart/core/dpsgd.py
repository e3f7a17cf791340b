"""DP-SGD (Abadi et al. 2016) through Opacus, for the kinds that train privately (`--dp-epsilon`).

One optimizer over some modules is made private: Opacus' GradSampleHooks compute each example's gradient, its
DPOptimizer clips each to `--dp-clip` (over all the optimizer's parameters together), sums them, adds Gaussian noise
of standard deviation noise_multiplier x clip, and divides by the expected batch size. Batches are drawn by Poisson
sampling (each training example joins with probability q = batch / N, so batch sizes vary), which is what the
accountant assumes: Opacus' RDP accountant for the sampled Gaussian mechanism (Mironov et al. 2019).

The noise multiplier is planned from epsilon, delta, q and --steps (Opacus' get_noise_multiplier; without --steps,
for the kind's `dp_plan_epochs` passes over the data, 20 unless it says otherwise), or given (--dp-noise); with it
fixed, the number of steps the budget allows is known in advance,
and training stops there (`spent`). The accountant's history, the noise multiplier and the sampling rate are kept in
the kind's state (plain values: checkpoints are safetensors + JSON), so a resumed run continues the account.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from genart.core.errors import ConfigError
from genart.core.privacy import default_delta

ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + list(range(64, 257, 8))  # RDP orders
PLAN_EPOCHS = 20  # without --steps the noise is planned for this many passes over the data


def epsilon(history: list[tuple[float, float, int]], delta: float) -> float:
    """epsilon spent at delta by a history of (noise multiplier, sample rate, steps), by the RDP accountant."""
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    if not history:
        return 0.0
    rdp = sum(compute_rdp(q=q, noise_multiplier=s, steps=k, orders=ALPHAS) for s, q, k in history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "optimal order is the largest alpha": a looser bound, still a bound
        eps, _ = get_privacy_spent(orders=ALPHAS, rdp=rdp, delta=delta)
    return float(eps)


def steps_allowed(history: list[tuple[float, float, int]], noise: float, rate: float, delta: float,
                  budget: float) -> int:
    """How many more steps at (noise, rate) keep epsilon within budget after `history` (0 when none do)."""
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    base = sum((compute_rdp(q=q, noise_multiplier=s, steps=k, orders=ALPHAS) for s, q, k in history), 0.0)
    one = compute_rdp(q=rate, noise_multiplier=noise, steps=1, orders=ALPHAS)

    def fits(k: int) -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return get_privacy_spent(orders=ALPHAS, rdp=base + k * one, delta=delta)[0] <= budget

    if not fits(1):
        return 0
    hi = 1
    while fits(hi * 2) and hi < 2**40:
        hi *= 2
    lo, hi = hi, hi * 2  # fits(lo), not fits(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def _no_inplace(module: nn.Module) -> None:
    """In-place activations would overwrite the outputs Opacus' backward hooks hold: turn them off (same maths)."""
    for m in module.modules():
        if getattr(m, "inplace", False):
            m.inplace = False


class PrivateTraining:
    """One optimizer made differentially private over `modules` trained on `data_size` examples."""

    def __init__(self, cfg: Any, modules: list[nn.Module], optimizer: torch.optim.Optimizer, data_size: int,
                 protects: str = "the training images") -> None:
        from opacus.accountants import RDPAccountant
        from opacus.accountants.utils import get_noise_multiplier
        from opacus.grad_sample import GradSampleHooks
        from opacus.optimizers import DPOptimizer

        if data_size < 2:
            raise ConfigError(f"differentially private training needs at least 2 training examples, got {data_size}",
                              "give more data")
        self.target = float(cfg.dp_epsilon)
        self.delta = float(cfg.dp_delta) if cfg.dp_delta is not None else default_delta(data_size)
        self.clip = float(cfg.dp_clip)
        self.batch = min(int(cfg.batch), data_size)
        self.rate = self.batch / data_size
        self.protects = protects
        if cfg.dp_noise is not None:
            self.noise = float(cfg.dp_noise)
        else:
            planned = int(cfg.steps) if cfg.steps else math.ceil(getattr(cfg, "dp_plan_epochs", PLAN_EPOCHS) / self.rate)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.noise = float(get_noise_multiplier(target_epsilon=self.target, target_delta=self.delta,
                                                            sample_rate=self.rate, steps=planned, accountant="rdp",
                                                            epsilon_tolerance=0.005 * self.target, alphas=ALPHAS))
            except ValueError:
                raise ConfigError(f"--dp-epsilon {self.target:g} is too small for {planned} steps at batch "
                                  f"{self.batch} of {data_size} examples", "raise --dp-epsilon or lower --steps") from None
        self.hooks = []
        for m in modules:
            _no_inplace(m)
            try:
                self.hooks.append(GradSampleHooks(m, loss_reduction="mean"))
            except NotImplementedError as e:
                raise ConfigError(f"this network cannot train privately ({str(e).splitlines()[0][:160]})",
                                  "its layers must treat each example alone (GroupNorm, not BatchNorm)") from None
        self.optimizer = DPOptimizer(optimizer, noise_multiplier=self.noise, max_grad_norm=self.clip,
                                     expected_batch_size=self.batch, loss_reduction="mean")
        self.accountant = RDPAccountant()
        self.last_batch = 0  # examples in the last Poisson-sampled batch
        self.limit = self._limit()

    # --- the mechanism ------------------------------------------------------------------------------

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Indices of a Poisson-sampled batch of the n training examples: each joins with probability q."""
        idx = torch.nonzero(torch.rand(n, generator=generator) < self.rate).flatten()
        self.last_batch = int(idx.numel())
        return idx

    def wraps(self, optimizer: torch.optim.Optimizer) -> bool:
        return optimizer is self.optimizer.original_optimizer or optimizer is self.optimizer

    def optimize(self, loss: torch.Tensor) -> None:
        """zero_grad, backward (per-example gradients), clip each, sum, add noise, step; and account for it."""
        self.optimizer.zero_grad(set_to_none=True)
        with warnings.catch_warnings():  # the first layer's input needs no gradient: its hook fires on the output
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            loss.backward()
        self.optimizer.step()
        self.accountant.step(noise_multiplier=self.noise, sample_rate=self.rate)

    @contextlib.contextmanager
    def hooks_off(self) -> Iterator[None]:
        """Backward passes through the private modules that must not make per-example gradients (a GAN's generator
        step goes through the discriminator)."""
        for h in self.hooks:
            h.disable_hooks()
        try:
            yield
        finally:
            for h in self.hooks:
                h.enable_hooks()

    # --- the account --------------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        return sum(int(k) for _, _, k in self.accountant.history)

    def epsilon(self) -> float:
        return epsilon(self.accountant.history, self.delta)

    def _limit(self) -> int:
        """The accountant's step count at which the budget is spent."""
        return self.steps + steps_allowed(self.accountant.history, self.noise, self.rate, self.delta, self.target)

    def spent(self) -> str | None:
        """Why training must stop (the budget is spent: one more step would exceed it), or None."""
        if self.steps < self.limit:
            return None
        return (f"privacy budget spent: epsilon {self.epsilon():.3g} of {self.target:g} (delta {self.delta:.2g}) "
                f"after {self.steps} private steps; training stops here")

    def figures(self) -> dict[str, float]:
        return {"dp_epsilon": round(self.epsilon(), 5), "dp_delta": self.delta}

    def state(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon(), "delta": self.delta, "target_epsilon": self.target,
                "noise_multiplier": self.noise, "clip": self.clip, "sample_rate": self.rate,
                "expected_batch": self.batch, "steps": self.steps, "accountant": "rdp", "sampling": "poisson",
                "protects": self.protects, "history": [[float(s), float(q), int(k)] for s, q, k in self.accountant.history]}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue the account of a checkpoint: its history, and the noise it was planned with."""
        self.accountant.history = [(float(s), float(q), int(k)) for s, q, k in state.get("history", [])]
        self.noise = self.optimizer.noise_multiplier = float(state.get("noise_multiplier", self.noise))
        self.limit = self._limit()
