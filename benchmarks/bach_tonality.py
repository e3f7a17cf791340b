"""Bach's tonality: train a builtin:bach model for a budget, generate 16 pieces, print their statistics beside Bach's.

    .venv/bin/python benchmarks/bach_tonality.py --out /tmp/bach --minutes 5          # the user's 5-minute run
    .venv/bin/python benchmarks/bach_tonality.py --out /tmp/bach --steps 850          # a quiet 5 minutes in steps
    .venv/bin/python benchmarks/bach_tonality.py --run /tmp/bach --temperature 0.8,0.9 --top-p 0.95,1

It runs what a user types (`genart train music --data builtin:bach ...`, then `genart generate RUN --out p.mid --n 16`
with the defaults unless --temperature/--top-p are given), reads the written MIDI files back and measures them
(genart.metrics.music: pitch-class entropy, scale consistency, polyphony, and the rhythm figures that show a
collapse: groove consistency, notes per bar, empty beats), each beside the data's mean +- sd and the distance in sd.
Extra `genart train` options go after `--`, e.g. `-- --keys keep --fim 0`. One thread unless OMP_NUM_THREADS says.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENART = [sys.executable, "-m", "genart"]
TONALITY = ("pitch_class_entropy", "scale_consistency", "polyphony")
COLLAPSE = ("groove_consistency", "notes_per_bar", "empty_beat_rate")


def train(out: Path, minutes: float | None, steps: int | None, extra: list[str]) -> float:
    """`genart train music --data builtin:bach` for the budget; returns the wall-clock seconds."""
    cmd = [*GENART, "train", "music", "--data", "builtin:bach", "--out", str(out), *extra]
    cmd += ["--minutes", f"{minutes:g}"] if minutes is not None else []
    cmd += ["--steps", str(steps)] if steps is not None else []
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.monotonic() - t0


def generate(run: Path, folder: Path, n: int, seed: int, temperature: str | None, top_p: str | None,
             ) -> tuple[list[Path], str]:
    """`genart generate RUN --out p.mid --n N` (with the defaults unless given); the files and what it printed."""
    cmd = [*GENART, "generate", str(run), "--out", str(folder / "p.mid"), "--n", str(n), "--seed", str(seed)]
    cmd += ["--temperature", temperature] if temperature else []
    cmd += ["--top-p", top_p] if top_p and float(top_p) < 1 else []
    done = subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
    return sorted(folder.glob("p-*.mid")) or [folder / "p.mid"], done.stdout


def measure(files: list[Path], data: dict[str, dict[str, float]]) -> tuple[str, dict[str, float]]:
    """The statistics of the MIDI files read back, as the comparison table, and the distances of the tonality ones."""
    from symusic import Score

    from genart.kinds.music.evaluate import melody_text
    from genart.metrics.music import comparison_table, distance, statistics, summarise

    scores = [Score(str(f)) for f in files]
    stats = [statistics(s) for s in scores]
    mine = summarise(stats)
    distinct = len({melody_text(s) for s in scores})
    table = comparison_table(stats, data)
    far = {k: round(distance(mine[k]["mean"], data[k]), 2) for k in (*TONALITY, *COLLAPSE) if k in mine and k in data}
    return table + f"\ndistinct pieces: {distinct} of {len(scores)}", far


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="train a new run here (resumed if it exists)")
    ap.add_argument("--run", type=Path, help="measure an existing run instead of training")
    ap.add_argument("--minutes", type=float, help="training budget in minutes (wall clock)")
    ap.add_argument("--steps", type=int, help="training budget in steps")
    ap.add_argument("--n", type=int, default=16, help="pieces to generate (16)")
    ap.add_argument("--seed", type=int, default=0, help="first seed of the pieces (0, as generate)")
    ap.add_argument("--temperature", default="", help="comma-separated temperatures to try (default: generate's)")
    ap.add_argument("--top-p", default="", help="comma-separated top-p values to try (1: off; default: generate's)")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    if (args.out is None) == (args.run is None):
        ap.error("give --out (train, then measure) or --run (measure only)")
    run = args.run or args.out
    if args.out is not None:
        if args.minutes is None and args.steps is None:
            ap.error("give a budget: --minutes or --steps")
        load = os.getloadavg()[0]
        secs = train(args.out, args.minutes, args.steps, extra)
        print(f"trained in {secs:.0f} s wall clock (load average {load:.2f} before, {os.getloadavg()[0]:.2f} after)")
    from genart.core.rundir import RunDir

    rd = RunDir.open(run)
    data = dict(rd.resolved.get("data_statistics") or {})
    shown = ("keys", "fim", "hidden", "layers", "lr", "bptt", "transpose")
    print(f"run {run}: " + ", ".join(f"{k}={v}" for k, v in rd.config.to_dict().items() if k in shown))
    for t in (args.temperature.split(",") if args.temperature else [None]):
        for p in (args.top_p.split(",") if args.top_p else [None]):
            with tempfile.TemporaryDirectory() as d:
                files, printed = generate(run, Path(d), args.n, args.seed, t, p)
                table, far = measure(files, data)
            guard = [ln for ln in printed.splitlines() if "copy" in ln.lower()]
            print(f"\n== temperature {t or 'default'}, top-p {p or 'default'}: {len(files)} pieces read back"
                  + (f" ({guard[0].strip()})" if guard else ""))
            print(table)
            ok = all(far.get(k, 9) <= 1 for k in TONALITY[:2])
            print(f"tonality within 1 sd of Bach: {'yes' if ok else 'no'} ({', '.join(f'{k} {v} sd' for k, v in far.items())})")


if __name__ == "__main__":
    main()
