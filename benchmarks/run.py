"""genart benchmarks: matrix-multiply peaks, GAN training speed against plain reference loops, bf16 soundness and
generation latency. Writes a markdown table (default benchmarks/RESULTS.md) and prints the same.

    .venv/bin/python benchmarks/run.py            # full run: about 2.5 minutes on 2 idle cores
    .venv/bin/python benchmarks/run.py --quick    # smoke run: about 20 seconds (on a CPU with bf16 instructions)
    .venv/bin/python benchmarks/run.py --plumbing # every section at tiny shapes, to a temporary file: seconds
    .venv/bin/python benchmarks/run.py --compile --rounds 3 --skip soundness,generation --append   # torch.compile

Run it alone. With all cores in use, torch's threads wait for each other at every op, so another process on the
machine slows a step five- to twenty-fold, not two-fold. The run watches /proc/stat: every timing window records the
share of the CPU other processes took, training figures come from the quiet windows (with extra rounds, up to
--extra seconds, when there were too few), and the report says how busy the machine was.

Each section is a module: run_peaks, run_kernels, run_training (its cases: gan_cases, more_cases; their timing:
run_timing), run_soundness, run_generation, run_sampling; run_report makes the report, cpu_load watches the CPU."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import run_generation  # noqa: E402
import run_kernels  # noqa: E402
import run_peaks  # noqa: E402
import run_sampling  # noqa: E402
import run_soundness  # noqa: E402
import run_training  # noqa: E402
from run_report import Run, print_machine, report, write  # noqa: E402

from genart.core.device import set_threads  # noqa: E402

SECTIONS: dict[str, Callable[[Run], list[str]]] = {  # in the report's order
    "peaks": run_peaks.section,
    "kernels": run_kernels.section,
    "train": run_training.section,
    "soundness": run_soundness.section,
    "generation": run_generation.section,
    "sampling": run_sampling.section,
}
PLUMBING_TITLE = "# genart benchmarks (plumbing run: tiny shapes, the figures mean nothing)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    archs = list(run_training.CASE_SETS)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short smoke run (under a minute)")
    ap.add_argument("--plumbing", action="store_true",
                    help="--quick at tiny shapes on one thread: checks in seconds that every section runs; writes to a "
                    "temporary file")
    ap.add_argument("--out", default=None, help="markdown file to write (default benchmarks/RESULTS.md)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    ap.add_argument("--archs", default=",".join(run_training.default_archs()), help=f"comma-separated, of: {','.join(archs)}")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd G and D (a minute or more)")
    ap.add_argument("--rounds", type=int, default=0, help=f"timing rounds (default {run_training.ROUNDS}, --quick 1)")
    ap.add_argument("--extra", type=float, default=90.0,
                    help="seconds per arch of extra rounds when the machine was busy (default 90; --quick: none)")
    ap.add_argument("--sound-steps", type=int, default=0, help="bf16 soundness steps (default 300, --quick 10)")
    ap.add_argument("--append", action="store_true", help="add this run's report to the end of --out instead of replacing it")
    ap.add_argument("--skip", default="", help=f"comma-separated sections to leave out: {','.join(SECTIONS)}")
    args = ap.parse_args(argv)
    args.skip = {x for x in args.skip.split(",") if x}
    if set(args.archs.split(",")) - set(archs):
        ap.error(f"--archs: unknown {', '.join(sorted(set(args.archs.split(',')) - set(archs)))}")
    if args.skip - set(SECTIONS):
        ap.error(f"--skip: unknown section(s) {', '.join(sorted(args.skip - set(SECTIONS)))}")
    if args.plumbing:
        args.quick, args.threads = True, args.threads or 1  # one thread: other work on the machine slows it least
        args.sound_steps = args.sound_steps or 2
        args.out = args.out or str(Path(tempfile.mkdtemp(prefix="genart-bench-")) / "RESULTS.md")
    args.out = args.out or str(ROOT / "benchmarks" / "RESULTS.md")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.plumbing:
        import run_plumbing

        run_plumbing.shrink()
    run = Run(args, set_threads(args.threads or os.cpu_count() or 1))
    print_machine(run)
    body: list[str] = []
    for name, section in SECTIONS.items():
        if name not in args.skip:
            body += section(run)
    text = report(run, body, PLUMBING_TITLE if args.plumbing else "# genart benchmarks")
    write(text, Path(args.out), args.append)


if __name__ == "__main__":
    main()
