"""genart music benchmarks: MIDI files tokenised per second, training tokens per second, sampling tokens per second.

    .venv/bin/python benchmarks/bench_music.py --threads 1      # about a minute on a CPU core (after the chorale cache)

Data: the first --pieces Bach chorales of music21 (converted once and cached, like `genart train music`). Results are
printed and written to benchmarks/RESULTS-music.md with the load average: run it on a quiet machine.
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


def main() -> None:
    args = chorale_bench_args(__doc__, 60)
    from symusic import Score

    from genart.data.music import builtin_pieces
    from genart.kinds.music.config import MusicConfig
    from genart.kinds.music.data import MusicVocab
    from genart.kinds.music.model import MusicSampler
    from genart.train import Trainer

    raw, _ = builtin_pieces("bach", args.pieces)
    lines = [results_header("genart music benchmarks")]
    for name in ("remi", "tsd"):
        vocab = MusicVocab(name)
        t0 = time.perf_counter()
        tokens = sum(len(vocab.encode(Score.from_midi(b))) for _, b in raw)
        dt = time.perf_counter() - t0
        lines.append(f"- tokenise ({name.upper()}): {len(raw) / dt:,.0f} MIDI files/s, {tokens / dt:,.0f} tokens/s "
                     f"({len(raw)} chorales)")
    with tempfile.TemporaryDirectory() as d:
        cfg = MusicConfig(data="builtin:bach", max_pieces=args.pieces, steps=args.steps, sample_every=0, log_every=10,
                          device=args.device, threads=args.threads)
        trainer = Trainer(cfg, Path(d) / "run", console=Console(file=io.StringIO()))
        trainer.model.train_step(0)  # warm up
        t0 = time.perf_counter()
        for i in range(1, args.steps):
            trainer.model.train_step(i)
        dt = time.perf_counter() - t0
        per_step = cfg.batch * trainer.model.bptt
        lines.append(f"- train (2x256 LSTM, batch {cfg.batch}, bptt {trainer.model.bptt}, {trainer.precision}): "
                     f"{per_step * (args.steps - 1) / dt:,.0f} tokens/s")
        trainer.step = args.steps
        trainer.save()
        state, _, _ = trainer.run.load_checkpoint()
        sampler = MusicSampler(cfg, trainer.run.resolved, state["model"], torch.device(args.device))
        for n in (1, 8):
            t0 = time.perf_counter()
            pieces = sampler.generate(n=n, bars=4, seed=0)
            dt = time.perf_counter() - t0
            made = sum(len(p.ids) for p in pieces)
            lines.append(f"- sample (4 bars, batch {n}): {made / dt:,.0f} tokens/s including decoding")
    lines.append(f"\nload average {os.getloadavg()[0]:.2f} after\n")
    text = "\n".join(lines)
    print(text)
    (HERE / "RESULTS-music.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
