"""The musicvae kind: its training step (genart.core.trainable) and its sampler.

- `MusicVAETrainable`: ELBO on windows of bars: cross-entropy of every voice's token at every step (nats per
  window) + beta * KL, with per-unit free bits and a linear warm-up of beta, + attribute_reg times the attribute
  regulariser (latent dims ordered by density, range, syncopation; logged as "order"). Held-out evaluation: the negative ELBO
  (one z per window from fixed noise, beta 1, no free bits) and the active units (latent dims whose posterior mean
  varies across held-out windows: Cov_x(E[z|x]) > 0.01). Each checkpoint stores the attribute vectors.
- `MusicVAESampler`: encode files (or scores, or windows) to latents per window, decode latents to scores at a
  temperature with one seed per window, generate from seeds with attribute edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from genart.core.checkpoints import int_keys
from genart.core.errors import ConfigError, DataError
from genart.core.trainable import Trainable, fused_or_foreach
from genart.kinds.musicvae.attributes import attribute_order_loss, attribute_vectors, edited, parse_edits
from genart.kinds.musicvae.config import MusicVAEConfig, transpose_range
from genart.kinds.musicvae.data import grid_score, piece_grid, transpose_batch, window_attributes
from genart.kinds.musicvae.network import MusicVAENet

ACTIVE = 0.01  # a latent unit is active when Cov_x(E_q[z_i]) exceeds this (Burda et al. 2016)
EVAL_SEED = 7919
EVAL_WINDOWS = 2048  # held-out windows evaluated at most (the first ones)
DEFAULT_TEMPERATURE = 0.5


def build_net(cfg: MusicVAEConfig, voices: int) -> MusicVAENet:
    return MusicVAENet(voices, cfg.bars, cfg.latent, cfg.hidden, cfg.embed, cfg.is_hierarchical())


def kl_per_unit(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def active_units(mu: torch.Tensor) -> int:
    return int((mu.float().var(0, correction=0) > ACTIVE).sum()) if len(mu) > 1 else 0


def recon_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the tokens in nats per window, (N,)."""
    ce = F.cross_entropy(logits.float().flatten(0, 2), x.long().flatten(), reduction="none")
    return ce.view(x.shape[0], -1).sum(1)


class MusicVAETrainable(Trainable):
    def __init__(self, cfg: MusicVAEConfig, data: Any, device: torch.device, precision: str,
                 generator: torch.Generator) -> None:
        super().__init__(cfg, data, device, precision, generator)
        self.cfg: MusicVAEConfig = cfg
        self.net = build_net(cfg, data.voices).to(device)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr, weight_decay=0.0, **fused_or_foreach(device))
        self.windows = data.train.to(device)
        self.val = data.val[:EVAL_WINDOWS].to(device)
        self.shifts = transpose_range(cfg.transpose)
        self.train_net = self.maybe_compile(self.net)
        self._attributes: tuple[int, dict[str, torch.Tensor]] | None = None
        self.step = 0

    def kl_weight(self, step: int) -> float:
        if self.cfg.kl_warmup <= 0:
            return self.cfg.beta
        return self.cfg.beta * min(1.0, (step + 1) / self.cfg.kl_warmup)

    def batch(self) -> torch.Tensor:
        x = self.windows[self.batch_indices(len(self.windows))].long()
        lo, hi = self.shifts
        if (lo, hi) != (0, 0):
            shifts = torch.randint(lo, hi + 1, (x.shape[0],), generator=self.generator).to(x.device)
            x = transpose_batch(x, shifts)
        return x

    def losses(self, x: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        mu, logvar = self.train_net.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon = recon_nll(self.train_net.decode_logits(z, x), x).mean()
        kl_units = kl_per_unit(mu, logvar)
        kl = kl_units.sum(1).mean()
        fb = self.cfg.free_bits
        kl_term = kl_units.mean(0).clamp_min(fb).sum() if fb > 0 else kl
        weight = self.kl_weight(step)
        loss = recon + weight * kl_term
        if self.cfg.attribute_reg > 0:
            order = attribute_order_loss(z, window_attributes(x))
            loss = loss + self.cfg.attribute_reg * order
        with torch.no_grad():
            logged = {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach(),
                      "active": (mu.var(0, correction=0) > ACTIVE).sum().float()}
            if self.cfg.attribute_reg > 0:
                logged["order"] = order.detach()
            if self.cfg.kl_warmup > 0:
                logged["kl_weight"] = torch.tensor(weight)
        return loss, logged

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        self.step = step + 1
        loss, logged = self.losses(self.batch(), step)
        self.optimize(loss, self.opt, clip=1.0)
        return logged

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Held-out negative ELBO (nats per window; beta 1, no free bits), its parts, and the active units."""
        n = len(self.val)
        if not n:
            return {}
        g = torch.Generator().manual_seed(self.cfg.seed + EVAL_SEED)
        rec = kl = 0.0
        mus = []
        self.net.eval()
        for i in range(0, n, 256):
            x = self.val[i:i + 256].long()
            mu, logvar = self.net.encode(x)
            z = mu + torch.randn(mu.shape, generator=g).to(mu.device) * torch.exp(0.5 * logvar)
            rec += float(recon_nll(self.net.decode_logits(z, x), x).sum())
            kl += float(kl_per_unit(mu, logvar).sum())
            mus.append(mu)
        self.net.train()
        return {"val_loss": (rec + kl) / n, "val_recon": rec / n, "val_kl": kl / n,
                "val_active": float(active_units(torch.cat(mus)))}

    def attributes(self) -> dict[str, torch.Tensor]:
        """The attribute vectors of the weights as they stand (computed once per step)."""
        if self._attributes is None or self._attributes[0] != self.step:
            self.net.eval()
            vectors = attribute_vectors(self.net.encode, self.windows, self.cfg.latent, self.device, self.cfg.seed)
            self.net.train()
            self._attributes = (self.step, vectors)
        return self._attributes[1]

    def state(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict(), "attributes": dict(self.attributes()),
                **self.amp_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(int_keys(state["opt"]))
        self.load_amp_state(state)

    @torch.no_grad()
    def preview(self, path_stem: Path) -> list[Path]:
        """Two windows from the prior (seeds 0, 1), then a held-out window and its reconstruction, as MIDI."""
        from genart.io.midi import write_midi
        from genart.models.latent import seed_latents

        self.net.eval()
        z, _ = seed_latents([0, 1], self.cfg.latent)
        u = torch.stack([torch.rand(self.net.steps, self.net.voices, generator=torch.Generator().manual_seed(s))
                         for s in (0, 1)])
        parts = list(self.net.sample(z.to(self.device), DEFAULT_TEMPERATURE, u.to(self.device)).cpu())
        source = self.val if len(self.val) else self.windows
        x = source[:1].long()
        parts += [x[0].cpu(), self.net.sample(self.net.encode(x)[0], 0.0, torch.zeros_like(x).float())[0].cpu()]
        self.net.train()
        path = Path(path_stem).with_suffix(".mid")
        write_midi(grid_score(torch.cat(parts)), path, {"kind": "musicvae", "preview": "true", "ai_generated": "true",
                                                       "parts": "prior seed 0, prior seed 1, held-out, reconstruction"})
        return [path]


@dataclass
class Piece:
    """One generated window: the symusic Score, its seed and statistics."""

    score: Any
    seed: int
    stats: dict[str, float] = field(default_factory=dict)


class MusicVAESampler:
    """A trained music VAE: `encode(file or score) -> latents per window`, `decode(z, temperature, seeds) -> scores`,
    `generate(n, seed, temperature, edits) -> pieces`; `attributes` holds the attribute vectors."""

    def __init__(self, cfg: MusicVAEConfig, resolved: dict[str, Any], state: dict[str, Any], device: torch.device) -> None:
        self.cfg = cfg
        self.voices = int(resolved["voices"])
        self.net = build_net(cfg, self.voices)
        self.net.load_state_dict(state["net"])
        self.net.to(device).eval().requires_grad_(False)
        self.device = device
        self.z_dim = cfg.latent
        self.bars = cfg.bars
        self.classes: list[str] = []
        self.attributes: dict[str, torch.Tensor] = {k: v.float() for k, v in (state.get("attributes") or {}).items()}
        self.data_statistics: dict[str, dict[str, float]] = dict(resolved.get("data_statistics") or {})

    # --- music in

    def windows(self, source: Any) -> torch.Tensor:
        """A file (MIDI, MusicXML, ABC), a symusic Score or a grid as consecutive windows (W, steps, voices)."""
        if isinstance(source, torch.Tensor):
            x = source if source.dim() == 3 else source.unsqueeze(0)
            if tuple(x.shape[1:]) != (self.net.steps, self.voices):
                raise ConfigError(f"windows of shape {tuple(x.shape)} do not match this run's "
                                  f"(N, {self.net.steps}, {self.voices})", "encode files or scores instead")
            return x.long()
        score = source
        if isinstance(source, (str, Path)):
            score = read_music(Path(source))
        grid = piece_grid(score, self.voices)
        if not len(grid) or not (grid != 0).any():
            raise DataError("the piece has no notes this model can read (pitches 21 to 108)", "give a piece with notes")
        length = self.net.steps
        count = -(-len(grid) // length)
        padded = np.zeros((count * length, self.voices), dtype=np.int64)
        padded[:len(grid)] = grid
        return torch.from_numpy(padded).view(count, length, self.voices)

    @torch.inference_mode()
    def encode(self, source: Any, window: int | None = None) -> torch.Tensor:
        """Posterior means (W, z_dim) of the consecutive windows of `source` (or (1, z_dim): window K of them)."""
        x = self.windows(source)
        if window is not None:
            if not 0 <= window < len(x):
                raise ConfigError(f"--window {window} is beyond the piece ({len(x)} window(s) of {self.bars} bars)",
                                  f"use 0 to {len(x) - 1}")
            x = x[window:window + 1]
            if not (x != 0).any():
                raise DataError(f"window {window} of the piece is silent", "pick a window with notes")
        return torch.cat([self.net.encode(x[i:i + 256].to(self.device))[0].float().cpu()
                          for i in range(0, len(x), 256)])

    # --- music out

    @torch.inference_mode()
    def decode_windows(self, z: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE,
                       seeds: list[int] | None = None) -> torch.Tensor:
        """Latents (N, z_dim) to token windows (N, steps, voices); window k draws from seed seeds[k] (default k)."""
        z = torch.as_tensor(z, dtype=torch.float32)
        z = z.unsqueeze(0) if z.dim() == 1 else z
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ConfigError(f"latents of shape {tuple(z.shape)} do not match this run's latent size {self.z_dim}",
                              "decode codes made by `encode` with this run")
        if not 0 <= temperature <= 10:
            raise ConfigError(f"--temperature {temperature} is out of range", "use a value in [0, 10], e.g. 0.5")
        seeds = list(range(len(z))) if seeds is None else list(seeds)
        u = torch.stack([torch.rand(self.net.steps, self.voices, generator=torch.Generator().manual_seed(int(s)))
                         for s in seeds])
        out = [self.net.sample(z[i:i + 64].to(self.device), float(temperature), u[i:i + 64].to(self.device)).cpu()
               for i in range(0, len(z), 64)]
        return torch.cat(out)

    def decode(self, z: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE,
               seeds: list[int] | None = None) -> list[Any]:
        """Latents (N, z_dim) to symusic Scores, one window each."""
        return [grid_score(w) for w in self.decode_windows(z, temperature, seeds)]

    @torch.inference_mode()
    def first_layer(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's initial state for latents z (N, hidden): directions when the training data is gone."""
        return self.net.first_layer(torch.as_tensor(z, dtype=torch.float32).to(self.device)).cpu()

    def edit_vector(self, edits: list[str] | None) -> list[tuple[str, float]]:
        return parse_edits(edits, self.attributes)

    def generate(self, n: int = 1, seed: int = 0, seeds: list[int] | None = None,
                 temperature: float = DEFAULT_TEMPERATURE, edits: list[str] | None = None) -> list[Piece]:
        """`n` windows from the prior (window k: seed seed + k, or seeds[k]) moved by the attribute edits
        (["density:+1.5", ...])."""
        from genart.metrics.music import statistics
        from genart.models.latent import seed_latents

        seeds = list(seeds) if seeds is not None else list(range(seed, seed + n))
        z, _ = seed_latents(seeds, self.z_dim)
        z = edited(z, self.attributes, self.edit_vector(edits))
        return [Piece(score=s, seed=k, stats=statistics(s)) for s, k in zip(self.decode(z, temperature, seeds), seeds,
                                                                             strict=True)]


def read_music(path: Path) -> Any:
    """A music file as a symusic Score, or a one-line DataError."""
    from genart.data.music import EXTENSIONS, read_piece

    if not path.is_file():
        raise DataError(f"{path} does not exist", "give a MIDI, MusicXML or ABC file")
    if path.suffix.lower() not in EXTENSIONS:
        raise DataError(f"{path.name} is not a music file", "give a .mid, .musicxml, .mxl or .abc file")
    try:
        return read_piece(path)
    except (ValueError, OSError) as e:
        raise DataError(f"{path.name}: {e}", "give a readable MIDI, MusicXML or ABC file") from None


