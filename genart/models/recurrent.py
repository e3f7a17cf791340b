"""The recurrent sequence network shared by the sequence kinds (text, music, ...): embedding -> LSTM or GRU -> head.

`RecurrentLM` carries its recurrent state as one tensor (`pack_state`) so that it can be checkpointed and carried
across batches; `Stepper` runs it one token at a time for sampling. Training (truncated BPTT) is in
genart.models.sequence_training, sampling in genart.models.sequence_sampling.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genart.core.errors import ConfigError

CELLS = ("lstm", "gru")

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



def build_model(cfg: Any, vocab_size: int, embed: int) -> RecurrentLM:
    return RecurrentLM(vocab_size, embed, cfg.hidden, cfg.layers, cfg.cell, cfg.dropout)

