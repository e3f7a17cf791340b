"""genart music VAE benchmarks: training steps/s of genart's trainable against a clean fp32 loop of the same network
and batch, and the time to interpolate 8 steps of 4 bars (target: under 1 s).

    .venv/bin/python benchmarks/bench_musicvae.py --threads 1      # a few minutes on a CPU core (after the chorale cache)

Data: the first --pieces Bach chorales of music21 (converted once and cached). The network is the kind's default
(4 bars, 4 voices, GRUs of 256 units, latent 128, batch 64). Results are printed and written to
benchmarks/RESULTS-musicvae.md with the load average: run it on a quiet machine.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

import torch
from machine import chorale_bench_args, results_header
from rich.console import Console

HERE = Path(__file__).resolve().parent


def reference_steps_per_second(net: torch.nn.Module, windows: torch.Tensor, batch: int, steps: int, beta: float,
                               free_bits: float, attribute_reg: float) -> float:
    """A plain fp32 loop: random batch, ELBO with per-unit free bits plus the attribute regulariser (the same
    objective as the kind's), backward, AdamW (torch's default kernels)."""
    import torch.nn.functional as F

    from genart.kinds.musicvae.attributes import attribute_order_loss
    from genart.kinds.musicvae.data import window_attributes

    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)

    def step() -> None:
        x = windows[torch.randint(len(windows), (batch,), generator=g)].long()
        mu, logvar = net.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        logits = net.decode_logits(z, x)
        recon = F.cross_entropy(logits.flatten(0, 2), x.flatten(), reduction="sum") / batch
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
        loss = recon + beta * kl.mean(0).clamp_min(free_bits).sum()
        if attribute_reg > 0:
            loss = loss + attribute_reg * attribute_order_loss(z, window_attributes(x))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    step()  # warm up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    args = chorale_bench_args(__doc__, 20)
    import genart
    from genart.io.midi import write_midi
    from genart.kinds.musicvae.config import MusicVAEConfig
    from genart.kinds.musicvae.data import grid_score
    from genart.kinds.musicvae.model import build_net
    from genart.morph import morph_file
    from genart.train import Trainer

    lines = [results_header("genart music VAE benchmarks")]
    with tempfile.TemporaryDirectory() as d:
        cfg = MusicVAEConfig(data="builtin:bach", max_pieces=args.pieces, steps=args.steps, sample_every=0,
                             log_every=10, device=args.device, threads=args.threads)
        trainer = Trainer(cfg, Path(d) / "run", console=Console(file=io.StringIO()))
        model = trainer.model
        model.train_step(0)  # warm up
        t0 = time.perf_counter()
        for i in range(1, args.steps + 1):
            model.train_step(i)
        ours = args.steps / (time.perf_counter() - t0)
        torch.manual_seed(0)
        net = build_net(cfg, trainer.data.voices).to(trainer.device)
        ref = reference_steps_per_second(net, trainer.data.train.to(trainer.device), cfg.batch, args.steps, cfg.beta,
                                         cfg.free_bits, cfg.attribute_reg)
        what = (f"{cfg.bars} bars x {trainer.data.voices} voices, GRUs of {cfg.hidden}, latent {cfg.latent}, "
                f"batch {cfg.batch}, attribute regulariser {cfg.attribute_reg:g}, {trainer.precision}")
        lines.append(f"- train ({what}): genart {ours:.2f} steps/s, clean fp32 loop {ref:.2f} steps/s "
                     f"(ratio {ours / ref:.2f})")
        t0 = time.perf_counter()
        model.attributes()
        lines.append(f"- attribute vectors at a checkpoint (up to 512 training windows): {time.perf_counter() - t0:.2f} s")
        trainer.step = args.steps + 1
        trainer.save()
        m = genart.load(str(Path(d) / "run"), device=args.device)
        a, b = Path(d) / "a.mid", Path(d) / "b.mid"
        write_midi(grid_score(trainer.data.val[0]), a)
        write_midi(grid_score(trainer.data.val[-1]), b)
        morph_file(m, a, b, Path(d) / "warm.mid", steps=8)  # warm up
        times = []
        for k in range(3):
            t0 = time.perf_counter()
            morph_file(m, a, b, Path(d) / f"morph-{k}.mid", steps=8)
            times.append(time.perf_counter() - t0)
        lines.append(f"- interpolate 8 steps of {cfg.bars} bars (encode both files, slerp, decode, write the MIDI): "
                     f"{min(times):.2f} s (best of 3; target under 1 s)")
    lines.append(f"\nload average {os.getloadavg()[0]:.2f} after\n")
    text = "\n".join(lines)
    print(text)
    (HERE / "RESULTS-musicvae.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
