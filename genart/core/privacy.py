"""Differentially private training's options, and the privacy facts a run's checkpoint holds (read without torch).

`PrivateConfig` is a mixin for the configs of the kinds where DP-SGD is sound (each example's gradient depends on
that example alone: no BatchNorm, no statistics across the batch in the loss): the kind's config lists it before its
base (`class VAEConfig(PrivateConfig, ImageConfig)`), so `--dp-epsilon` and its companions exist only for those
kinds. The training itself (Opacus: per-sample clipping, noise, the accountant) is in genart.core.dpsgd.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from genart.core.config import option, positive
from genart.core.errors import ConfigError

DELTA_CAP = 1e-5  # the default delta: 1 / (10 N) for N training examples, at most this


def default_delta(n: int) -> float:
    """delta when --dp-delta is not given: well below 1/N (a mechanism may leak one whole example with probability
    about delta * N), at most 1e-5."""
    return min(DELTA_CAP, 1.0 / (10 * max(1, n)))


@dataclass
class PrivateConfig:
    """Options of differentially private training (DP-SGD through Opacus), mixed into the kinds where it is sound."""

    dp_epsilon: float | None = option(None, "Train with differential privacy (DP-SGD, Opacus) and stop when this "
                                            "privacy budget epsilon is spent (e.g. 1 or 10; default: no DP).")
    dp_delta: float | None = option(None, "DP: the delta of the (epsilon, delta) guarantee (default: 1/(10 N) for N "
                                          "training images, at most 1e-5).")
    dp_clip: float = option(1.0, "DP: clip each example's gradient to this L2 norm.")
    dp_noise: float | None = option(None, "DP: noise multiplier (default: planned from epsilon, delta, the sample "
                                          "rate and --steps, or the kind's planned passes over the data without --steps).")

    #: options whose default differs under DP, as name -> (default, default with --dp-epsilon): a kind declares such
    #: an option unset (0) and this fills it in; DP-SGD wants larger batches and steps (the noise is divided by the
    #: batch) and fewer parameters to add noise to
    dp_defaults: ClassVar[dict[str, tuple[Any, Any]]] = {}
    #: without --steps, the noise is planned for this many passes over the data (genart.core.dpsgd)
    dp_plan_epochs: ClassVar[int] = 20

    def __post_init__(self) -> None:
        self.fill_dp_defaults()

    def fill_dp_defaults(self) -> None:
        """Fill in the options left unset whose default depends on --dp-epsilon (`dp_defaults`)."""
        private = self.dp_epsilon is not None
        for name, (plain, under_dp) in self.dp_defaults.items():
            if not getattr(self, name):
                setattr(self, name, under_dp if private else plain)

    def validate(self) -> None:
        self.fill_dp_defaults()
        super().validate()  # type: ignore[misc]  # the image config this mixin precedes
        private = self.dp_epsilon is not None
        for name in ("dp_delta", "dp_noise"):
            if getattr(self, name) is not None and not private:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} is given without --dp-epsilon", f"add --dp-epsilon E, or leave {flag} out")
        if not private:
            return
        positive("dp_epsilon", self.dp_epsilon)
        positive("dp_clip", self.dp_clip)
        positive("dp_noise", self.dp_noise)
        if self.dp_delta is not None and not 0 < self.dp_delta < 1:
            raise ConfigError(f"--dp-delta must be between 0 and 1, got {self.dp_delta}",
                              "use a delta well below 1/N for N training images, or leave it out")
        precision = getattr(self, "precision", "auto")
        if precision in ("bf16", "fp16"):
            raise ConfigError(f"--precision {precision} is not supported with --dp-epsilon (per-example gradients "
                              "are computed in fp32)", "use --precision fp32 or auto")
        self.precision = "fp32"  # auto: per-example gradients in fp32
        if getattr(self, "compile", False):
            raise ConfigError("--compile is not supported with --dp-epsilon (Opacus' per-example gradient hooks)",
                              "train without --compile")
        from genart.core import distributed  # torch: imported only when a private run is checked

        if distributed.launched():
            raise ConfigError("differentially private training runs in one process: torchrun (data-parallel) is "
                              "not supported with --dp-epsilon", "train it in one process: genart train ...")


def checkpoint_privacy(path: str | Path) -> dict[str, Any] | None:
    """The privacy record (epsilon spent, delta, noise, clip, ...) of a checkpoint, read from its JSON metadata
    without loading tensors; None when the run was not trained privately or the file cannot be read."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            tree = json.loads((f.metadata() or {})["tree"])
    except Exception:  # noqa: BLE001 - a damaged or foreign file simply has no privacy record to show
        return None
    model = _entry(tree, "model")
    record = _entry(model, "privacy") if model is not None else None
    if not isinstance(record, dict) or "__dict__" not in record:
        return None
    return {k: v for k, v in record["__dict__"] if k != "history"}


def _entry(tree: Any, key: str) -> Any:
    if isinstance(tree, dict) and "__dict__" in tree:
        return next((v for k, v in tree["__dict__"] if k == key), None)
    return None


def privacy_lines(record: dict[str, Any] | None, cfg: Any) -> list[str]:
    """The model card's privacy section: the guarantee a private run has, or that a run of a kind that offers DP
    was trained without it; [] for kinds without DP."""
    if record is None:
        if hasattr(cfg, "dp_epsilon"):
            return ["## Privacy", "- Trained without differential privacy: the model may memorise training images "
                    "(`--dp-epsilon E` trains with a guarantee).", ""]
        return []
    eps, delta = record.get("epsilon", 0.0), record.get("delta", 0.0)
    return [
        "## Privacy",
        f"- Differentially private training (DP-SGD, Opacus): **epsilon = {eps:.3g}, delta = {delta:.2g}** spent "
        f"(budget asked: epsilon {record.get('target_epsilon')}), over {record.get('steps')} private steps.",
        f"- Each example's gradient clipped to norm {record.get('clip')}; Gaussian noise multiplier "
        f"{record.get('noise_multiplier', 0):.4g}; {record.get('sampling', 'poisson')} sampling at rate "
        f"{record.get('sample_rate', 0):.4g} (expected batch {record.get('expected_batch')}); "
        f"{record.get('accountant', 'rdp').upper()} accountant.",
        f"- Protected: {record.get('protects', 'the training images')}. Not covered: the held-out images used to "
        "pick the best checkpoint, and the training losses logged in metrics.jsonl.",
        "",
    ]
