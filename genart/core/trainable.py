"""The small interface every kind plugs into the one training loop (genart.train)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import torch

from genart.core.config import TrainConfig
from genart.core.errors import ConfigError


class Trainable(ABC):
    """A model family in training: its networks, optimizers and one step on a batch.

    The trainer owns the loop, the budget, checkpoints, logging and RNG; the kind owns the maths.
    Everything returned by `state()` is saved in checkpoints and given back to `load_state()`.
    """

    #: whether bf16 autocast measurably speeds this kind up on CPUs with bf16 units (see benchmarks/)
    bf16_helps: ClassVar[bool] = False
    #: whether the kind wraps its networks with genart.distributed.wrap and shards its data (torchrun)
    supports_ddp: ClassVar[bool] = False

    def __init__(self, cfg: TrainConfig, data: Any, device: torch.device, precision: str,
                 generator: torch.Generator) -> None:
        self.cfg = cfg
        self.data = data
        self.device = device
        self.precision = precision
        self.generator = generator  # draws batches; checkpointed by the trainer
        # fp16 gradients underflow without loss scaling; bf16 and fp32 need none (and so take exactly the plain path)
        self.scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
        self.privacy: Any = None  # a genart.core.dpsgd.PrivateTraining when the run trains privately (--dp-epsilon)

    # --- shared by the kinds: the optimizer step (fp16 loss scaling), torch.compile --------------------

    def optimize(self, loss: torch.Tensor, opt: torch.optim.Optimizer, clip: float = 0.0,
                 params: list[torch.Tensor] | None = None, update: bool = True) -> torch.Tensor | None:
        """zero_grad, backward, clip the gradient norm to `clip` (when > 0), step: the one place fp16's GradScaler acts.

        Without fp16 this is exactly `opt.zero_grad(set_to_none=True); loss.backward(); clip_grad_norm_; opt.step()`.
        With fp16 the loss is scaled before backward, the gradients are unscaled before clipping, the step is skipped
        when they overflowed, and the scale is updated; a kind with several optimizers in one step (the GAN: D, then
        G) passes update=False to all but the last, so the scale is updated once per step, from all their gradients.
        Returns the gradient norm before clipping when clip > 0 (0 on a step skipped for overflow), else None.

        Under differential privacy (make_private) the private optimizer's step is DP-SGD's instead: per-example
        clipping to --dp-clip (which replaces `clip`) and noise; other optimizers' backward passes make no
        per-example gradients. Returns None then."""
        if self.privacy is not None:
            if self.privacy.wraps(opt):
                self.privacy.optimize(loss)
                return None
            with self.privacy.hooks_off():
                return self._optimize(loss, opt, clip, params, update)
        return self._optimize(loss, opt, clip, params, update)

    def _optimize(self, loss: torch.Tensor, opt: torch.optim.Optimizer, clip: float,
                  params: list[torch.Tensor] | None, update: bool) -> torch.Tensor | None:
        opt.zero_grad(set_to_none=True)
        if params is None and clip > 0:
            params = [p for g in opt.param_groups for p in g["params"]]
        scaler = self.scaler
        if scaler is None:
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, clip) if clip > 0 else None
            opt.step()
            return norm
        scaler.scale(loss).backward()
        norm = None
        if clip > 0:
            scaler.unscale_(opt)
            norm = torch.nan_to_num(torch.nn.utils.clip_grad_norm_(params, clip), nan=0.0, posinf=0.0, neginf=0.0)
        scaler.step(opt)
        if update:
            scaler.update()
        return norm

    def amp_state(self) -> dict[str, Any]:
        """{"scaler": the GradScaler's state} under fp16, else {}: each kind merges it into its state()."""
        return {"scaler": self.scaler.state_dict()} if self.scaler is not None else {}

    def load_amp_state(self, state: dict[str, Any]) -> None:
        """Restore the GradScaler; a checkpoint without one (not fp16, or older) leaves it at its initial scale."""
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(dict(state["scaler"]))

    # --- differential privacy (--dp-epsilon; genart.core.privacy, genart.core.dpsgd) ---------------------

    def make_private(self, modules: list[torch.nn.Module], optimizer: torch.optim.Optimizer, data_size: int,
                     protects: str = "the training images") -> bool:
        """Train `modules` with `optimizer` by DP-SGD when the config asks (--dp-epsilon): per-example gradients,
        clipping and noise in `optimize`, Poisson batches from `batch_indices`, the account in `privacy_state`.
        Call it once the networks are built and on their device, before anything else wraps them. Returns whether
        training is private."""
        if getattr(self.cfg, "dp_epsilon", None) is None:
            return False
        from genart.core.dpsgd import PrivateTraining

        self.privacy = PrivateTraining(self.cfg, modules, optimizer, data_size, protects)
        return True

    def batch_indices(self, n: int) -> torch.Tensor:
        """Indices of the next batch among n training examples: --batch drawn uniformly with replacement, or under
        DP a Poisson sample (each example with probability batch / n: the sampling the accountant assumes)."""
        if self.privacy is not None:
            return self.privacy.sample(n, self.generator).to(self.device)
        return torch.randint(n, (self.cfg.batch,), generator=self.generator).to(self.device)

    def privacy_state(self) -> dict[str, Any]:
        """{"privacy": the account (plain values)} under DP, else {}: each kind merges it into its state()."""
        return {"privacy": self.privacy.state()} if self.privacy is not None else {}

    def load_privacy_state(self, state: dict[str, Any]) -> None:
        """Continue the privacy account of a checkpoint (a resumed run does not start its epsilon again at 0)."""
        if self.privacy is not None and state.get("privacy"):
            self.privacy.load_state(state["privacy"])

    def budget_spent(self) -> str | None:
        """Why training must stop now whatever --steps / --minutes say (the privacy budget is spent), or None."""
        return self.privacy.spent() if self.privacy is not None else None

    def logged_figures(self) -> dict[str, float]:
        """Figures logged as they stand at each log step, not averaged (the privacy spent so far)."""
        return self.privacy.figures() if self.privacy is not None else {}

    def maybe_compile(self, module: torch.nn.Module) -> torch.nn.Module:
        """`torch.compile(module)` with --compile, else the module itself. Give it the networks as trained (after
        DDP wrapping); checkpoints keep saving the plain modules, so their keys do not change. Compilation happens
        at the first call: genart.train turns its failures into a one-line error (see compile_failure)."""
        if not getattr(self.cfg, "compile", False):
            return module
        return torch.compile(module)

    @abstractmethod
    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        """One optimisation step; returns named scalar losses as tensors (not synced to the host)."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Nested dicts of tensors and plain values: weights, EMA, optimizer states."""

    @abstractmethod
    def load_state(self, state: dict[str, Any]) -> None: ...

    def replicated(self) -> list[torch.Tensor]:
        """Tensors every data-parallel rank must hold identically (all float tensors of the state)."""
        from genart.core.checkpoints import flatten_state

        tensors, _ = flatten_state(self.state())
        return [t for t in tensors.values() if t.is_floating_point()]

    def preview(self, path_stem: Path) -> list[Path]:
        """Write preview samples next to `path_stem` (e.g. samples/step-000500); return the files."""
        return []

    def evaluate(self) -> dict[str, float]:
        """Held-out figures (e.g. val_loss) for picking the best checkpoint; empty when the kind has none."""
        return {}


def compile_failure(error: BaseException) -> ConfigError | None:
    """The one-line error for a torch.compile failure (TorchDynamo or Inductor: no C compiler, an unsupported op,
    ...), or None when `error` is something else."""
    try:
        from torch._dynamo.exc import TorchDynamoException
    except ImportError:  # a torch without dynamo cannot have compiled anything
        return None
    if not isinstance(error, TorchDynamoException):
        return None
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    if len(reason) > 200:
        reason = reason[:197] + "..."
    return ConfigError(f"--compile failed: torch.compile could not compile the networks ({reason})",
                       "train without --compile")


def fused_or_foreach(device: torch.device) -> dict[str, bool]:
    """The fused Adam/AdamW kernels where torch has them (CPU and CUDA; measured faster: benchmarks/RESULTS.md),
    else foreach."""
    return {"fused": True} if device.type in ("cpu", "cuda") else {"foreach": True}
