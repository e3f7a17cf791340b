"""The "train" section of benchmarks/run.py: steps/s of each arch's training cases (reference loops, genart, genart
variants), the GFLOP/s they reach and how that compares with the peaks.

The archs are a table, each naming the registry kind it trains: by default every arch whose kind is registered."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import gan_cases
import more_cases
from cpu_load import QUIET
from machine import bf16_lstm
from run_report import Run, pct, table
from run_timing import Case, time_cases

from genart.core.registry import all_kinds

ROUNDS = 6  # timing rounds in a full run; many short rounds, best taken, ride out bursts of other load


def vae_cases(with_compile: bool) -> list[Case]:
    """The VAE cases (benchmarks/more_cases.py)."""
    return [Case("vae", name, prec, step, note) for name, prec, step, note in more_cases.vae_steps()]


def text_cases(with_compile: bool) -> list[Case]:
    """The text-LSTM cases (benchmarks/more_cases.py); bf16 only where the CPU has a bf16 LSTM kernel."""
    tmp = Path(tempfile.mkdtemp(prefix="genart-bench-"))
    rows, flops = more_cases.text_steps(tmp, ("fp32", "bf16") if bf16_lstm() else ("fp32",))
    chars = more_cases.TEXT["batch"] * more_cases.TEXT["bptt"]
    return [Case("text", name, prec, step, note, flops=flops, chars_per_step=chars) for name, prec, step, note in rows]


@dataclass(frozen=True)
class CaseSet:
    kind: str  # the registry kind it trains
    build: Callable[[bool], list[Case]]  # (with torch.compile variants) -> the cases, in the report's order


CASE_SETS = {"mlp": CaseSet("gan", partial(gan_cases.gan_cases, "mlp")),
             "dcgan": CaseSet("gan", partial(gan_cases.gan_cases, "dcgan")),
             "vae": CaseSet("vae", vae_cases),
             "text": CaseSet("text", text_cases)}


def default_archs() -> list[str]:
    return [arch for arch, s in CASE_SETS.items() if s.kind in all_kinds()]


def train_all(run: Run) -> tuple[list[Case], int]:
    """Build and time every case of every arch asked for; print each as it is done. Returns the cases and rounds."""
    rounds = run.args.rounds or (1 if run.quick else ROUNDS)
    cases: list[Case] = []
    for arch in run.args.archs.split(","):
        arch_cases = CASE_SETS[arch].build(run.args.compile)
        if run.quick:
            time_cases(arch_cases, rounds=rounds, seconds=0.2, min_steps=1, warmup=1)
        else:
            time_cases(arch_cases, rounds=rounds, seconds=0.5, min_steps=3, warmup=3, extra_s=run.args.extra)
        for c in arch_cases:
            print(f"  {arch:5} {c.name:24} {c.precision}: {c.best:7.2f} steps/s (rounds: "
                  f"{', '.join(f'{r:.2f}' + ('' if o < QUIET else '*') for r, o in zip(c.rates, c.others, strict=True))}"
                  f"), {c.flops / 1e9:.2f} GFLOP/step", flush=True)
        print(f"  {run.stamp()} (* = a round in which other processes took {100 * QUIET:.0f}% of the CPU or more)",
              flush=True)
        cases += arch_cases
    return cases, rounds


def case_row(c: Case, ref: dict[str, float], clean: Case, peaks: dict[str, float], conv_peaks: dict[str, float]) -> list[str]:
    # each round's ratio to the clean loop's window next to it: steadier than best over best when the
    # machine's speed drifts during the run
    paired = [a / b for a, b in zip(c.rates, clean.rates, strict=False) if b > 0]
    vs_clean_rounds = f"{statistics.median(paired):.2f}x" if paired else "n/a"
    gflops = c.flops * c.best / 1e9
    chars = f"**{c.best * c.chars_per_step:,.0f} characters/s**" if c.chars_per_step else ""
    return [c.arch, c.name, c.precision, f"**{c.best:.2f}**", f"{min(c.rates):.2f}-{max(c.rates):.2f}",
            f"{len(c.quiet)}/{len(c.rates)}", f"{c.best / ref['clean']:.2f}x", vs_clean_rounds,
            f"{c.best / ref['original']:.2f}x", f"{c.flops / 1e9:.2f}", f"{gflops:.1f}", pct(gflops, peaks[c.precision]),
            pct(gflops, conv_peaks[c.precision]), "; ".join(x for x in (c.note, chars) if x)]


def training_table(cases: list[Case], peaks: dict[str, float], conv_peaks: dict[str, float]) -> str:
    rows = []
    for arch in dict.fromkeys(c.arch for c in cases):
        mine = [c for c in cases if c.arch == arch]
        ref = {c.name: c.best for c in mine if c.precision == "fp32"}
        clean = next(c for c in mine if c.name == "clean" and c.precision == "fp32")
        rows += [case_row(c, ref, clean, peaks, conv_peaks) for c in mine]
    return table(["arch", "loop", "precision", "steps/s (best)", "range over rounds", "quiet rounds", "vs clean fp32",
                  "vs clean fp32, median of rounds", "vs original fp32", "GFLOP/step", "GFLOP/s", "% of mm peak",
                  "% of conv peak", "note"], rows)


def section(run: Run) -> list[str]:
    cases, rounds = train_all(run)
    quick = run.quick
    return ["## Training speed", "",
            f"GANs at batch {gan_cases.BATCH} (mlp: 28x28, 1 channel; dcgan: 32x32, 3 channels, as first written: "
            "transposed convolutions and BCE; unconditional, random images), the VAE at 32x32, 3 channels, batch 64, "
            "and the text LSTM the issue names (2 x 512, embedding 64, 128 characters x batch 32 = 4,096 characters "
            "per step, 65 symbols). "
            "`original` and `clean` are the reference loops (eager fp32, torch's default Adam; the GAN's in "
            "benchmarks/gan_cases.py, the VAE's and the LSTM's in benchmarks/more_cases.py): `original` is the networks "
            "as first written (probabilities then BCE or NLL, a DataLoader), `clean` the same networks on logits with the "
            "data already in memory. `genart` is the kind's own `train_step` (the GAN's also updates the EMA "
            "generator; the LSTM's carries its hidden state, schedules its learning rate, clips gradients and "
            "uses genart's default dropout 0.2). `variant:` rows are genart with one of its choices flipped "
            "(fused or foreach Adam; channels_last or NCHW for dcgan; dropout; torch.compile with --compile), "
            "to show what each choice is worth. "
            f"{rounds} rounds (each at least {1 if quick else 3} steps and {0.2 if quick else 0.5} s), the loops "
            f"alternating; steps/s is the best quiet round (other processes under {100 * QUIET:.0f}% of the CPU), "
            "or the best round when none was quiet; `vs clean fp32` divides best by best, `median of rounds` "
            "divides each round by the clean loop's window in the same round (steadier when the machine's speed "
            "drifts during the run, as this one's does)"
            + ("" if quick else "; on a busy machine, loops with fewer than two quiet rounds get more rounds, "
               f"for up to {run.args.extra:.0f} s per arch") + ". "
            "FLOPs counted with FlopCounterMode over one step (forward and backward of all nets; for the LSTM, "
            "counted by formula: its oneDNN kernel is invisible to FlopCounterMode); "
            "% of peak is against the torch.mm and the 3x3 convolution peaks of the same dtype.", "",
            training_table(cases, run.peaks, run.conv_peaks), ""]
