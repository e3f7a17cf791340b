"""The music VAE's network (after MusicVAE, Roberts et al. 2018), in plain torch.

- Each grid step's tokens (one per voice) are embedded and summed: a (steps, embed) sequence.
- Encoder: a bidirectional GRU over the steps; its two final states give the mean and log-variance of z.
- Decoder: a GRU over the steps, fed the previous step's tokens and a conditioning vector, its first state made
  from that vector; each voice's token at a step is a categorical over rest, hold and the 88 pitches. Flat: the
  conditioning is z at every step. Hierarchical (16 bars): a conductor GRU turns z into one vector per bar, and the
  decoder restarts at each bar from that bar's vector (still fed the previous step's tokens across the bar line).
- Sampling is autoregressive, one step at a time, with one random stream per window (its seed).
"""

from __future__ import annotations

import torch
from torch import nn

from genart.kinds.musicvae.data import CLASSES, HOLD, REST, STEPS_PER_BAR


class MusicVAENet(nn.Module):
    def __init__(self, voices: int, bars: int, latent: int = 128, hidden: int = 256, embed: int = 64,
                 hierarchical: bool = False) -> None:
        super().__init__()
        self.voices, self.bars, self.latent, self.hidden = voices, bars, latent, hidden
        self.steps = bars * STEPS_PER_BAR
        self.hierarchical = hierarchical
        self.embed = nn.Embedding(voices * CLASSES + 1, embed)  # the last row: "no previous step" (the start)
        self.register_buffer("offsets", torch.arange(voices) * CLASSES, persistent=False)
        self.encoder = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.to_stats = nn.Linear(2 * hidden, 2 * latent)
        cond = hidden if hierarchical else latent
        if hierarchical:
            self.conductor_in = nn.Linear(latent, hidden)
            self.conductor = nn.GRU(hidden, hidden, batch_first=True)
        self.to_h0 = nn.Linear(cond, hidden)
        self.decoder = nn.GRU(embed + cond, hidden, batch_first=True)
        self.out = nn.Linear(hidden, voices * CLASSES)

    # --- halves ------------------------------------------------------------------------------------------------

    def embed_steps(self, x: torch.Tensor) -> torch.Tensor:
        """(N, steps, voices) tokens -> (N, steps, embed)."""
        return self.embed(x.long() + self.offsets).sum(2)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows (N, steps, voices) -> mean and log-variance of q(z|x), each (N, latent)."""
        _, h = self.encoder(self.embed_steps(x))
        mu, logvar = self.to_stats(torch.cat([h[0], h[1]], 1)).chunk(2, 1)
        return mu, logvar.clamp(-30.0, 20.0)

    def conditioning(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, latent) -> one conditioning vector per bar (N, bars, cond): z itself, or the conductor's."""
        if not self.hierarchical:
            return z.unsqueeze(1).expand(-1, self.bars, -1)
        seq = torch.tanh(self.conductor_in(z)).unsqueeze(1).expand(-1, self.bars, -1).contiguous()
        out, _ = self.conductor(seq)
        return out

    def first_layer(self, z: torch.Tensor) -> torch.Tensor:
        """What z sets first: the decoder's initial state for the first bar (N, hidden)."""
        return torch.tanh(self.to_h0(self.conditioning(z)[:, 0]))

    def start_tokens(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.full((n, 1), self.voices * CLASSES, dtype=torch.long, device=device)

    def decode_logits(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (N, steps, voices, CLASSES) of windows x given z."""
        n = x.shape[0]
        prev = torch.cat([self.embed(self.start_tokens(n, x.device)), self.embed_steps(x[:, :-1])], 1)
        cond = self.conditioning(z)  # (N, bars, cond)
        if self.hierarchical:  # each bar decoded from its own state: bars become rows
            b = self.bars
            prev = prev.reshape(n * b, STEPS_PER_BAR, -1)
            c = cond.reshape(n * b, -1)
            inp = torch.cat([prev, c.unsqueeze(1).expand(-1, STEPS_PER_BAR, -1)], 2)
            out, _ = self.decoder(inp, torch.tanh(self.to_h0(c)).unsqueeze(0).contiguous())
            out = out.reshape(n, self.steps, -1)
        else:
            c = cond[:, 0]
            inp = torch.cat([prev, c.unsqueeze(1).expand(-1, self.steps, -1)], 2)
            out, _ = self.decoder(inp, torch.tanh(self.to_h0(c)).unsqueeze(0).contiguous())
        return self.out(out).view(n, self.steps, self.voices, CLASSES)

    @torch.no_grad()
    def sample(self, z: torch.Tensor, temperature: float, uniforms: torch.Tensor) -> torch.Tensor:
        """Windows (N, steps, voices) decoded from z one step at a time. uniforms (N, steps, voices) in [0, 1) pick
        each token from the softmax at `temperature` (0: the most likely token). HOLD is never drawn for a voice
        that is not sounding (at the start, or after a rest)."""
        n = z.shape[0]
        cond = self.conditioning(z)
        tokens = torch.zeros((n, self.steps, self.voices), dtype=torch.long, device=z.device)
        prev = self.embed(self.start_tokens(n, z.device))[:, 0]
        sounding = torch.zeros((n, self.voices), dtype=torch.bool, device=z.device)
        h = None
        for t in range(self.steps):
            bar = t // STEPS_PER_BAR
            c = cond[:, bar]
            if t == 0 or (self.hierarchical and t % STEPS_PER_BAR == 0):
                h = torch.tanh(self.to_h0(c)).unsqueeze(0).contiguous()
            out, h = self.decoder(torch.cat([prev, c], 1).unsqueeze(1), h)
            logits = self.out(out[:, 0]).view(n, self.voices, CLASSES).float()
            logits[..., HOLD] = logits[..., HOLD].masked_fill(~sounding, float("-inf"))  # nothing to hold
            if temperature <= 0:
                tok = logits.argmax(-1)
            else:
                cdf = torch.softmax(logits / temperature, -1).cumsum(-1)
                u = uniforms[:, t].unsqueeze(-1) * cdf[..., -1:]
                tok = torch.searchsorted(cdf, u.contiguous()).squeeze(-1).clamp_max(CLASSES - 1)
            tokens[:, t] = tok
            sounding = tok != REST
            prev = self.embed_steps(tok.unsqueeze(1))[:, 0]
        return tokens
