"""The recurrent sequence model (text now, music later): embedding -> LSTM or GRU -> linear head.

- `RecurrentLM`: the network; its recurrent state travels as one tensor (`pack_state`) so that it can be
  checkpointed and carried across batches.
- `SequenceTrainable`: truncated backpropagation through time over a stream of token ids. The stream is cut
  into `batch` parallel lanes; each step trains on the next `bptt` tokens of every lane, starting from the
  hidden state the previous step ended with. Gradient clipping, AdamW with warm-up and cosine decay.
  Validation is a full pass over the held-out ids. The hidden state and the data cursor are checkpointed, so a
  resumed run continues exactly where it stopped.
- `sample_tokens`: batched sampling that carries the hidden state (constant work per token), with a
  temperature schedule, top-k and top-p; row k draws its randomness from its own seed.
- `TextTrainable` and `TextSampler`: the `text` kind.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genart import distributed
from genart.device import autocast
from genart.errors import ConfigError, GenartError, RunError
from genart.models.base import Trainable, fused_or_foreach

CELLS = ("lstm", "gru")
MIN_LR_FRACTION = 0.1  # cosine decay ends at this fraction of --lr
EVAL_LANES = 64  # the validation pass runs this many lanes at once ...
EVAL_LANE_MIN = 1024  # ... each at least this long ...
EVAL_BURN_IN = 256  # ... and each (but the first) warmed up on the tokens just before it, unscored
EVAL_CHUNK = 256
MAX_SAMPLES = 4096
MAX_LENGTH = 1_000_000
UNIFORM_BLOCK = 256  # sampling draws each row's random numbers this many at a time


# --- the network -----------------------------------------------------------------------------------

class RecurrentLM(nn.Module):
    """Embedding -> `layers` of LSTM or GRU -> dropout -> linear head over the vocabulary."""

    def __init__(self, vocab: int, embed: int, hidden: int, layers: int, cell: str = "lstm",
                 dropout: float = 0.0) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"--cell {cell!r} is not one of {', '.join(CELLS)}", "use lstm or gru")
        self.cell, self.layers, self.hidden = cell, layers, hidden
        self.embed = nn.Embedding(vocab, embed)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(embed, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.drop = FastDropout(dropout)
        self.head = nn.Linear(hidden, vocab)
        nn.init.normal_(self.embed.weight, 0.0, 1.0)
        if cell == "lstm":  # forget-gate bias 1: remember by default (Jozefowicz et al. 2015)
            with torch.no_grad():
                for name, p in self.rnn.named_parameters():
                    if name.startswith("bias_ih"):
                        p[hidden:2 * hidden].fill_(1.0)
                    elif name.startswith("bias_hh"):
                        p[hidden:2 * hidden].zero_()

    @property
    def vocab_size(self) -> int:
        return int(self.head.out_features)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids (B, T) and a packed state (or None: zeros) to logits (B, T, V) and the new packed state."""
        h = self.embed(x)
        hx = self.unpack_state(state) if state is not None else None
        if self.training and self.rnn.dropout > 0 and h.device.type == "cpu":
            out, st = self._layer_by_layer(h, hx)
        else:
            out, st = self.rnn(h, hx)
        return self.head(self.drop(out)), self.pack_state(st)

    def _layer_by_layer(self, h: torch.Tensor, hx: Any) -> tuple[torch.Tensor, Any]:
        """What self.rnn does in training, one layer at a time so that the dropout between layers is FastDropout's
        (the same weights and kernels; on CPUs torch's own dropout costs a tenth of a training step)."""
        lstm = self.cell == "lstm"
        if hx is None:
            zeros = h.new_zeros(self.layers, h.shape[0], self.hidden)
            hx = (zeros, zeros) if lstm else zeros
        hs, cs = [], []
        for i in range(self.layers):
            weights = [getattr(self.rnn, f"{name}_l{i}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            if lstm:
                h, h_n, c_n = torch.lstm(h, (hx[0][i:i + 1], hx[1][i:i + 1]), weights, True, 1, 0.0, True, False, True)
                cs.append(c_n)
            else:
                h, h_n = torch.gru(h, hx[i:i + 1], weights, True, 1, 0.0, True, False, True)
            hs.append(h_n)
            if i < self.layers - 1:
                h = self.drop(h)
        return h, ((torch.cat(hs), torch.cat(cs)) if lstm else torch.cat(hs))

    def zero_state(self, batch: int, device: torch.device) -> torch.Tensor:
        parts = 2 if self.cell == "lstm" else 1
        return torch.zeros(parts, self.layers, batch, self.hidden, device=device)

    def pack_state(self, st: Any) -> torch.Tensor:
        """(h, c) or h to one tensor (parts, layers, batch, hidden), fp32."""
        return (torch.stack(st) if isinstance(st, tuple) else st.unsqueeze(0)).float()

    def unpack_state(self, state: torch.Tensor) -> Any:
        if self.cell == "lstm":
            return state[0].contiguous(), state[1].contiguous()
        return state[0].contiguous()


class FastDropout(nn.Module):
    """nn.Dropout with a cheaper mask on CPUs: 15 random bits per element from one 64-bit draw per four elements,
    about a fifth of the time of torch's bernoulli_ there (keep probability 1 - p to within 1/32768)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, True)
        n = x.numel()
        words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_()  # 63 random bits each
        bits = words.view(torch.int16)[:n].view(x.shape) & 0x7FFF  # the low 15 bits of every 16-bit chunk
        return x * (bits >= round(self.p * 32768)) * (1.0 / (1.0 - self.p))


class Stepper:
    """One token at a time through a RecurrentLM, for sampling: the same maths as nn.LSTM / nn.GRU, written out
    with the weights pre-transposed and the first layer's input projection of every token precomputed. (A call of
    nn.LSTM on one time step pays a fixed set-up cost of the oneDNN kernel that dwarfs the arithmetic.)"""

    def __init__(self, model: RecurrentLM) -> None:
        rnn = model.rnn
        self.lstm = model.cell == "lstm"
        self.layers = model.layers
        w = lambda name: getattr(rnn, name).detach()  # noqa: E731
        self.w_ih = [w(f"weight_ih_l{i}").t().contiguous() for i in range(self.layers)]
        self.w_hh = [w(f"weight_hh_l{i}").t().contiguous() for i in range(self.layers)]
        if self.lstm:  # both biases simply add up
            self.b_ih = [w(f"bias_ih_l{i}") + w(f"bias_hh_l{i}") for i in range(self.layers)]
            self.b_hh = [torch.zeros_like(b) for b in self.b_ih]
        else:  # the GRU's candidate gate needs the recurrent bias apart
            self.b_ih = [w(f"bias_ih_l{i}") for i in range(self.layers)]
            self.b_hh = [w(f"bias_hh_l{i}") for i in range(self.layers)]
        self.table = torch.addmm(self.b_ih[0], model.embed.weight.detach(), self.w_ih[0])  # (V, gates)
        self.head_w = model.head.weight.detach().t().contiguous()
        self.head_b = model.head.bias.detach()

    def __call__(self, ids: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ids (N,) and a packed state (parts, layers, N, hidden) to logits (N, V) and the new state."""
        new = torch.empty_like(state)
        x = None
        for i in range(self.layers):
            gi = self.table[ids] if i == 0 else torch.addmm(self.b_ih[i], x, self.w_ih[i])
            h = state[0, i]
            if self.lstm:
                gates = gi.addmm_(h, self.w_hh[i])
                g_i, g_f, g_g, g_o = gates.chunk(4, 1)
                c = torch.sigmoid(g_f) * state[1, i] + torch.sigmoid(g_i) * torch.tanh(g_g)
                h = torch.sigmoid(g_o) * torch.tanh(c)
                new[1, i] = c
            else:
                gh = torch.addmm(self.b_hh[i], h, self.w_hh[i])
                i_r, i_z, i_n = gi.chunk(3, 1)
                h_r, h_z, h_n = gh.chunk(3, 1)
                r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
                n = torch.tanh(i_n + r * h_n)
                h = n + z * (h - n)
            new[0, i] = h
            x = h
        return torch.addmm(self.head_b, x, self.head_w), new


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
        self.pos = 0
        self.hidden.zero_()
        self._cut()

    def _cut(self) -> None:
        n = int(self.train_ids.numel())
        span = (n - 1 - self.offset) // self.lanes
        base = self.train_ids[self.offset:self.offset + self.lanes * span + 1]
        self._lanes_x = base[:-1].view(self.lanes, span)
        self._lanes_y = base[1:].view(self.lanes, span)
        self._span = span

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
        from genart.train import DEFAULT_MINUTES

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
                "cursor": {"epoch": self.epoch, "pos": self.pos, "offset": self.offset},
                "elapsed": self.elapsed, **self.amp_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(_int_keys(state["opt"]))
        self.params = [p for g in self.opt.param_groups for p in g["params"]]
        self.load_amp_state(state)
        self.elapsed = float(state.get("elapsed", 0.0))
        self._t_last = None
        if distributed.rank():  # checkpoints hold rank 0's cursor; the other ranks start a new pass of their share
            self._new_epoch()
            return
        c = state["cursor"]
        self.epoch, self.pos, self.offset = int(c["epoch"]), int(c["pos"]), int(c["offset"])
        self._cut()
        self.hidden = state["hidden"].to(self.device).float()

    def replicated(self) -> list[torch.Tensor]:
        """Weights and optimizer moments (each rank's hidden state belongs to its own lanes)."""
        from genart.runs import flatten_state

        moments, _ = flatten_state(self.opt.state_dict()["state"])
        return list(self.model.parameters()) + [t for t in moments.values() if t.is_floating_point()]

    def evaluate(self) -> dict[str, float]:
        """Mean loss over the whole validation split, in nats per token and bits per token."""
        if self.val_ids.numel() < 2:
            return {}
        total, count = sequence_nll(self.model, self.val_ids, self.device, self.precision)
        loss = total / count
        return {"val_loss": loss, "val_bits": loss / math.log(2)}


def build_model(cfg: Any, vocab_size: int, embed: int) -> RecurrentLM:
    return RecurrentLM(vocab_size, embed, cfg.hidden, cfg.layers, cfg.cell, cfg.dropout)


def _int_keys(opt_state: dict[str, Any]) -> dict[str, Any]:
    """Optimizer state keys are ints; JSON round trips make them strings."""
    out = dict(opt_state)
    out["state"] = {int(k): v for k, v in opt_state["state"].items()}
    return out


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
                  on_token: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor:
    """`length` new ids for each of `n` rows after the `prime` ids, (n, length), in fp32.

    The prime runs through the network once; then each token is one step of the recurrence (constant work per
    token), batched over the rows. Row k's randomness comes from its own generator seeded with seeds[k], so a seed
    gives the same text whatever the other rows are. `on_token(i, ids)` sees each new column as it comes."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    step = Stepper(model)
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    out = torch.empty(n, length, dtype=torch.long)
    logits, state = model(torch.tensor([prime], dtype=torch.long, device=device))
    last = logits[:, -1].float().expand(n, -1)
    state = state.expand(-1, -1, n, -1).contiguous()
    uniforms = torch.empty(n, 0)
    for i in range(length):
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


# --- the text kind -------------------------------------------------------------------------------------

PREVIEW_CHARS = 400


class TextTrainable(SequenceTrainable):
    """The `text` kind: SequenceTrainable on a tokenised corpus; previews are short samples, and a run made
    with --init-from starts from another run's weights (new symbols get fresh embeddings)."""

    def __init__(self, cfg: Any, data: Any, device: torch.device, precision: str, generator: torch.Generator) -> None:
        super().__init__(cfg, data, device, precision, generator)
        self.vocab = data.vocab
        self.chars_per_token = float(data.report.get("chars_per_token", 1.0))
        self._val_chars: int | None = None
        if cfg.init_from:
            init_weights_from(self.model, cfg.init_from, data.vocab)

    def evaluate(self) -> dict[str, float]:
        out = super().evaluate()
        if not out:
            return out
        if self.vocab.kind == "char":
            return {"val_loss": out["val_loss"], "val_bpc": out["val_bits"]}
        if self._val_chars is None:  # bits per character of the validation text, comparable across tokenizers
            self._val_chars = max(1, len(self.vocab.decode(self.val_ids[1:].tolist())))
        count = self.val_ids.numel() - 1
        return {"val_loss": out["val_loss"], "val_bits_per_token": out["val_bits"],
                "val_bpc": out["val_bits"] * count / self._val_chars}

    def preview(self, path_stem: Path) -> list[Path]:
        prime_ids = default_prime(self.vocab)
        length = max(1, int(PREVIEW_CHARS / max(1.0, self.chars_per_token)))
        ids = sample_tokens(self.model, prime_ids, 1, length, [0], [0.8])
        text = self.vocab.decode(ids[0].tolist())
        path = Path(path_stem).with_suffix(".txt")
        from genart.runs import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return [path]


def default_prime(vocab: Any) -> list[int]:
    """What a sample starts from when no --prime is given: a line break (as if after a paragraph)."""
    ids = vocab.encode("\n") if not vocab.missing("\n") else []
    return ids or [0]


def init_weights_from(model: RecurrentLM, run_path: str, vocab: Any) -> None:
    """Copy another text run's weights into `model`; rows of symbols new to `vocab` keep their fresh values."""
    from genart.data.text import vocab_from_json
    from genart.runs import RunDir
    from genart.train import load_run_checkpoint

    run = RunDir.open(run_path)
    which = "best" if (run.checkpoints / "best.safetensors").exists() else "last"
    state, _, _ = load_run_checkpoint(run, which)
    weights = state["model"]["model"]
    old = vocab_from_json(run.resolved["vocab"])
    n_old = old.size
    if old.kind != vocab.kind or (vocab.kind == "char" and vocab.symbols[:n_old] != old.symbols):
        raise RunError(f"--init-from {run_path}: its vocabulary does not match this run's", "fine-tune with the same --tokens")
    own = model.state_dict()
    for name, t in weights.items():
        if name not in own:
            raise RunError(f"--init-from {run_path}: it has a different network ({name})",
                           "fine-tune with the same --cell, --layers, --hidden and --embed, or leave them out")
        if name in ("embed.weight", "head.weight", "head.bias"):
            if t.shape[1:] != own[name].shape[1:]:
                raise RunError(f"--init-from {run_path}: {name} is {tuple(t.shape)}, not {tuple(own[name].shape)}",
                               "leave out --embed/--hidden to use that run's sizes")
            own[name][:n_old] = t
            if name == "head.bias" and own[name].shape[0] > n_old:
                own[name][n_old:] = t.min()  # new symbols start as rare as the rarest known one
        elif own[name].shape != t.shape:
            raise RunError(f"--init-from {run_path}: {name} is {tuple(t.shape)}, not {tuple(own[name].shape)}",
                           "leave out --cell/--layers/--hidden/--embed to use that run's network")
        else:
            own[name].copy_(t)
    model.load_state_dict(own)


class TextSampler:
    """A trained text model: `generate(n, prime, length, temperature, top_k, top_p, seed)` -> list of strings."""

    def __init__(self, cfg: Any, resolved: dict[str, Any], state: dict[str, Any], device: torch.device) -> None:
        from genart.data.text import vocab_from_json

        self.cfg = cfg
        self.vocab = vocab_from_json(resolved["vocab"])
        self.model = build_model(cfg, self.vocab.size, int(resolved.get("embed", cfg.embed))).to(device)
        self.model.load_state_dict(state["model"])
        self.model.eval().requires_grad_(False)
        self.device = device
        self.tokens = self.vocab.kind

    def encode_prime(self, prime: str | None) -> tuple[str, list[int]]:
        from genart.data.text import missing_message, normalise

        text = normalise(prime or "")
        if not text:
            return "", default_prime(self.vocab)
        lacking = self.vocab.missing(text)
        if lacking:
            raise ConfigError(f"--prime has {len(lacking)} character(s) this model's vocabulary lacks: "
                              f"{missing_message(lacking)}", "leave them out; the run's characters are in its config.json")
        return text, self.vocab.encode(text)

    def generate(self, n: int = 1, prime: str | None = None, length: int = 500,
                 temperature: float | str | Sequence[float] | None = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int = 0, seeds: Sequence[int] | None = None,
                 on_text: Callable[[int, str], None] | None = None) -> list[str]:
        """`n` texts, each starting with `prime`, then `length` generated tokens (characters for char runs).
        Text k uses seed `seed + k` (or seeds[k]); the same seed and settings give the same text.

        `on_text(k, piece)` receives the new text of each row as it is generated (for streaming)."""
        seeds = list(seeds) if seeds is not None else list(range(seed, seed + n))
        n = len(seeds)
        check_sampling(n, length, top_k, top_p)
        temps = parse_temperature(temperature)
        text, ids = self.encode_prime(prime)
        decoders = [StreamDecoder(self.vocab) for _ in range(n)] if on_text else []

        def emit(i: int, col: torch.Tensor) -> None:
            for k, d in enumerate(decoders):
                piece = d.push(int(col[k]))
                if piece and on_text is not None:
                    on_text(k, piece)

        out = sample_tokens(self.model, ids, n, length, seeds, temps, top_k, top_p, on_token=emit if on_text else None)
        return [text + self.vocab.decode(row.tolist()) for row in out]


class StreamDecoder:
    """Turns ids into text as they come; BPE pieces that end inside a UTF-8 character wait for the rest."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self.ids: list[int] = []
        self.done = 0  # characters already emitted

    def push(self, token: int) -> str:
        if self.vocab.kind == "char":
            return str(self.vocab.symbols[token])
        self.ids.append(token)
        text = self.vocab.decode(self.ids)
        if text.endswith("\ufffd"):
            return ""
        piece, self.done = text[self.done:], len(text)
        if len(self.ids) > 64:  # keep the work per token constant: restart from a clean boundary
            self.ids, self.done = [], 0
        return piece


def check_text_run(model: Any) -> None:
    if not isinstance(getattr(model, "sampler", None), TextSampler):
        raise GenartError(f"{model.run.name} is a {model.kind} run, not a text run", "use it with a text run")
