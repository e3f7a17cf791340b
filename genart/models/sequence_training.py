"""Truncated backpropagation through time over a stream of token ids, for every recurrent sequence kind.

The stream is cut into `batch` parallel lanes; each step trains on the next `bptt` tokens of every lane, starting
from the hidden state the previous step ended with. Gradient clipping, AdamW with warm-up and cosine decay.
Validation is a full pass over the held-out ids. The hidden state and the data cursor are checkpointed, so a
resumed run continues exactly where it stopped.

With `--fim` above 0 (fill-in-the-middle), each pass's lanes are cut into windows of WINDOW_BPTT * bptt tokens and
that share of them is rearranged as PRE prefix SUF suffix MID middle EOM (genart.models.infill), drawn from a seed
that the cursor keeps; validation stays the plain continuation loss.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genart.core import distributed
from genart.core.checkpoints import flatten_state, int_keys
from genart.core.config import DEFAULT_MINUTES
from genart.core.device import autocast
from genart.core.errors import ConfigError
from genart.core.trainable import Trainable, fused_or_foreach
from genart.models.infill import IGNORE, WINDOW_BPTT, max_suffix, rearrange
from genart.models.recurrent import RecurrentLM, build_model

MIN_LR_FRACTION = 0.1  # cosine decay ends at this fraction of --lr
EVAL_LANES = 64  # the validation pass runs this many lanes at once ...
EVAL_LANE_MIN = 1024  # ... each at least this long ...
EVAL_BURN_IN = 256  # ... and each (but the first) warmed up on the tokens just before it, unscored
EVAL_CHUNK = 256

def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on the recurrent and head matrices; none on biases and embeddings."""
    decay, plain = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and not name.startswith("embed") else plain).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def lr_at(step: int, progress: float, lr: float, warmup: int) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to MIN_LR_FRACTION * lr as progress goes 0 -> 1."""
    p = min(1.0, max(0.0, progress))
    cosine = MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * p))
    return lr * cosine * min(1.0, (step + 1) / max(1, warmup))


# --- held-out loss -----------------------------------------------------------------------------------

@torch.no_grad()
def sequence_nll(model: RecurrentLM, ids: torch.Tensor, device: torch.device, precision: str = "fp32",
                 lanes: int = EVAL_LANES) -> tuple[float, int]:
    """Summed negative log-likelihood (nats) of ids[1:] given what precedes them, and the count.

    A full pass: the ids are cut into up to `lanes` equal lanes run side by side (each but the first warmed up
    on the EVAL_BURN_IN ids before it), and the few left over at the end continue the last lane."""
    ids = ids.to(device).long()
    n = int(ids.numel())
    if n < 2:
        return 0.0, 0
    was_training = model.training
    model.eval()
    b = max(1, min(lanes, (n - 1) // EVAL_LANE_MIN))
    span = (n - 1) // b
    burn = min(EVAL_BURN_IN, span)
    total = torch.zeros((), dtype=torch.float64, device=device)
    with autocast(device, precision):
        state = model.zero_state(b, device)
        if b > 1 and burn:
            warm = torch.stack([ids[i * span - burn:i * span] for i in range(1, b)])
            _, st = model(warm)
            state[:, :, 1:] = st
        for start in range(0, span, EVAL_CHUNK):
            end = min(span, start + EVAL_CHUNK)
            x = torch.stack([ids[i * span + start:i * span + end] for i in range(b)])
            y = torch.stack([ids[i * span + start + 1:i * span + end + 1] for i in range(b)])
            logits, state = model(x, state)
            total += F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="sum").double()
        rest = (n - 1) - b * span
        if rest:
            last = state[:, :, b - 1:b].contiguous()
            x, y = ids[b * span:n - 1].unsqueeze(0), ids[b * span + 1:n].unsqueeze(0)
            logits, _ = model(x, last)
            total += F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="sum").double()
    model.train(was_training)
    return float(total), n - 1


# --- training ----------------------------------------------------------------------------------------

class SequenceTrainable(Trainable):
    """Truncated BPTT over a token stream with the hidden state carried across batches (shared by text and
    music). `data` provides `train_ids` and `val_ids` (1-D integer tensors) and `vocab.size`."""

    bf16_helps = True  # measured: bf16 autocast runs the LSTM about 1.7x faster on AVX512-BF16 (benchmarks/bench_text.py)
    supports_ddp = True

    def __init__(self, cfg: Any, data: Any, device: torch.device, precision: str, generator: torch.Generator) -> None:
        super().__init__(cfg, data, device, precision, generator)
        self.model = build_model(cfg, data.vocab.size, cfg.embed).to(device)
        # under torchrun each rank trains on its own contiguous share of the stream, cut into its own lanes
        ids = data.train_ids
        world, rank = distributed.world(), distributed.rank()
        share = ids.numel() // world
        self.train_ids = ids[rank * share:(rank + 1) * share + (1 if rank < world - 1 else 0)].to(device)
        self.val_ids = data.val_ids
        n = int(self.train_ids.numel())
        self.lanes = cfg.batch
        if (share - 1) // self.lanes < 2:  # the same test on every rank: the smallest share decides
            n = share
            total = f" ({world} processes share {ids.numel():,})" if world > 1 else ""
            raise ConfigError(f"--batch {cfg.batch} is too large for {n:,} training tokens{total}",
                              f"use --batch {max(1, (n - 1) // 8)} or less, or give more text")
        self.model_train = distributed.wrap(self.model, device)  # DDP under torchrun, else the model itself
        self.model_train = self.maybe_compile(self.model_train)  # --compile (checkpoints save self.model: plain keys)
        # the steps of one pass fit inside every lane, whatever the epoch's random offset
        self.bptt = max(1, min(cfg.bptt, (n - 1) // (2 * self.lanes)))
        self._prior_bias(data.train_ids, data.vocab.size)
        # eps 1e-6 rather than 1e-8: the head rows of rare symbols get tiny but steady gradients, which Adam would
        # otherwise turn into full-size steps; their logits then grow until they win in unusual states
        self.opt = torch.optim.AdamW(param_groups(self.model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.99), eps=1e-6,
                                     **fused_or_foreach(device))
        self.params = [p for g in self.opt.param_groups for p in g["params"]]
        self.epoch, self.pos, self.offset = 0, 0, 0
        self.fim = float(getattr(cfg, "fim", 0.0))
        self.markers = getattr(data.vocab, "markers", None)
        self.boundary = getattr(data.vocab, "fim_boundary", None)  # cut only before this id (REMI: Bar), if any
        self.fim_seed = 0
        if self.fim > 0 and self.markers is None:
            raise ConfigError(f"--fim {self.fim}: this data's vocabulary has no infilling markers", "use --fim 0")
        self.hidden = self.model.zero_state(self.lanes, device)
        self.elapsed = 0.0  # seconds between the first and the latest step, over all sessions (for the schedule)
        self._t_last: float | None = None
        self._lanes_x: torch.Tensor | None = None
        self._new_epoch(first=True)

    def _prior_bias(self, ids: torch.Tensor, vocab: int) -> None:
        """Start the head at the training text's symbol frequencies (log, add-one smoothed), not at uniform."""
        counts = torch.bincount(ids.long().flatten(), minlength=vocab).double() + 1.0
        with torch.no_grad():
            self.model.head.bias.copy_((counts / counts.sum()).log().float())

    # the stream, cut into lanes -------------------------------------------------------------------

    def _new_epoch(self, first: bool = False) -> None:
        """Cut the training ids into lanes from a random offset (drawn from the trainer's data generator)."""
        if not first:
            self.epoch += 1
            self.offset = int(torch.randint(self.bptt, (1,), generator=self.generator))
        if self.fim > 0:  # the pass's rearranged windows come from their own seed (kept in the cursor)
            self.fim_seed = int(torch.randint(1 << 62, (1,), generator=self.generator))
        self.pos = 0
        self.hidden.zero_()
        self._cut()

    def _cut(self) -> None:
        n = int(self.train_ids.numel())
        span = (n - 1 - self.offset) // self.lanes
        base = self.train_ids[self.offset:self.offset + self.lanes * span + 1]
        self._span = span
        if self.fim > 0 and self.markers is not None:
            seq = base.cpu().unfold(0, span + 1, span).clone()  # (lanes, span + 1): each lane's inputs and targets
            gen = torch.Generator().manual_seed(self.fim_seed)
            keep = rearrange(seq, self.markers, self.fim, WINDOW_BPTT * self.bptt, gen, self.boundary,
                             max_suffix(self.bptt))
            y = seq[:, 1:].clone()
            y[~keep] = IGNORE
            self._lanes_x, self._lanes_y = seq[:, :-1].to(self.device), y.to(self.device)
            return
        self._lanes_x = base[:-1].view(self.lanes, span)
        self._lanes_y = base[1:].view(self.lanes, span)

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pos + self.bptt > self._span:
            self._new_epoch()
        p, t = self.pos, self.bptt
        assert self._lanes_x is not None
        x, y = self._lanes_x[:, p:p + t].long(), self._lanes_y[:, p:p + t].long()
        self.pos += t
        return x, y

    def progress(self, step: int) -> float:
        """How far through its budget the run is (0 -> 1), by steps or by training time, whichever is further."""
        cfg = self.cfg
        p = step / cfg.steps if cfg.steps else 0.0
        minutes = cfg.minutes if cfg.minutes is not None else (None if cfg.steps else DEFAULT_MINUTES)
        if minutes:
            p = max(p, self.elapsed / (minutes * 60))
        return min(1.0, p)

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        now = time.monotonic()
        if self._t_last is not None:
            self.elapsed += now - self._t_last
        self._t_last = now
        cfg = self.cfg
        lr = lr_at(step, distributed.same_on_all(self.progress(step)), cfg.lr, cfg.warmup)
        for g in self.opt.param_groups:
            g["lr"] = lr
        x, y = self._batch()
        with autocast(self.device, self.precision):
            logits, state = self.model_train(x, self.hidden)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        # zero_grad, backward, clip, step (fp16: with the GradScaler, the gradients unscaled before clipping)
        grad_norm = self.optimize(loss, self.opt, clip=cfg.clip, params=self.params)
        if grad_norm is None:
            grad_norm = torch.zeros(())
        self.hidden = state.detach()
        return {"loss": loss.detach(), "grad_norm": grad_norm.detach(), "lr": torch.tensor(lr)}

    def state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "hidden": self.hidden,
                "cursor": {"epoch": self.epoch, "pos": self.pos, "offset": self.offset,
                           **({"fim_seed": self.fim_seed} if self.fim > 0 else {})},
                "elapsed": self.elapsed, **self.amp_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(int_keys(state["opt"]))
        self.params = [p for g in self.opt.param_groups for p in g["params"]]
        self.load_amp_state(state)
        self.elapsed = float(state.get("elapsed", 0.0))
        self._t_last = None
        if distributed.rank():  # checkpoints hold rank 0's cursor; the other ranks start a new pass of their share
            self._new_epoch()
            return
        c = state["cursor"]
        self.epoch, self.pos, self.offset = int(c["epoch"]), int(c["pos"]), int(c["offset"])
        self.fim_seed = int(c.get("fim_seed", 0))
        self._cut()
        self.hidden = state["hidden"].to(self.device).float()

    def replicated(self) -> list[torch.Tensor]:
        """Weights and optimizer moments (each rank's hidden state belongs to its own lanes)."""
        moments, _ = flatten_state(self.opt.state_dict()["state"])
        return list(self.model.parameters()) + [t for t in moments.values() if t.is_floating_point()]

    def evaluate(self) -> dict[str, float]:
        """Mean loss over the whole validation split, in nats per token and bits per token."""
        if self.val_ids.numel() < 2:
            return {}
        total, count = sequence_nll(self.model, self.val_ids, self.device, self.precision)
        loss = total / count
        return {"val_loss": loss, "val_bits": loss / math.log(2)}


