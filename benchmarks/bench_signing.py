"""What signed provenance (C2PA) costs: milliseconds to sign one output, by size, and a batch as one grid or as files.

    .venv/bin/python benchmarks/bench_signing.py            # a few seconds

Each case writes the same file with and without signing (genart's own writers, save_png / save_grid / write_wav /
save_animation, into a temporary folder with a throwaway key) and reports the median extra time per file; the
target is under 100 ms per image. A grid of 64 is one file and one manifest; the same 64 images as individual files
are signed one by one (--individual), so their cost is per file. Results are printed and written to
benchmarks/RESULTS-signing.md with the machine and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
TARGET_MS = 100.0


def timed(write: Callable[[], object], repeats: int) -> float:
    """Median seconds of `write` over `repeats` runs (after one warm-up)."""
    write()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        write()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def signed_and_unsigned(write: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of `write` signed and unsigned, the two interleaved so that a busy disk or CPU hits both alike;
    the last write is unsigned."""
    from genart.io.signing import set_signing

    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(2 * repeats + 2):
        on = i % 2 == 0
        set_signing(on)
        t0 = time.perf_counter()
        write()
        if i >= 2:  # the first pair warms up
            times[on].append(time.perf_counter() - t0)
    set_signing(True)
    return statistics.median(times[True]), statistics.median(times[False])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed runs per case (the median is reported)")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS-signing.md")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "0")) or torch.get_num_threads())

    from machine import describe, load_average  # benchmarks/machine.py, beside this script

    load = load_average()
    with tempfile.TemporaryDirectory() as d:
        os.environ["GENART_HOME"] = str(Path(d) / "home")  # a throwaway key, made here (not timed)
        from genart.io.audio import write_wav
        from genart.io.images import save_animation, save_grid, save_png
        from genart.io.keys import keys_init
        from genart.io.signing import c2pa_module, mime_of, sign_bytes

        if c2pa_module() is None:
            raise SystemExit("c2pa-python is not installed: nothing to measure")
        keys_init()
        out = Path(d)
        prov = {"genart_version": "0.1.0", "run": "bench", "kind": "gan", "checkpoint": "last.safetensors",
                "checkpoint_sha256": "0" * 16, "seeds": "0-63", "ai_generated": "true"}
        rng = np.random.default_rng(0)

        def picture(side: int) -> Image.Image:
            return Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8))

        small, large = picture(64), picture(512)
        images = torch.rand(64, 3, 64, 64) * 2 - 1
        frames = torch.rand(16, 3, 64, 64) * 2 - 1
        audio = (np.sin(np.linspace(0, 4000, 44_100 * 5)) * 0.5).astype(np.float32)

        def individual() -> None:
            for i in range(64):
                save_png(small, out / f"each-{i:02d}.png", {**prov, "seed": i})

        def signing(path: Path, n: int) -> Callable[[], object]:
            """Signing alone (sign_bytes): the bytes the writer wrote unsigned, signed in memory."""
            data = [(p.read_bytes(), {**prov, "seed": i}) for i, p in enumerate(sorted(out.glob(path.name)))][:n]
            mime = mime_of(path)
            return lambda: [sign_bytes(b, mime, pr, path.name) for b, pr in data]

        cases = [  # (name, file (a glob for many), files, write)
            ("PNG 64x64", out / "small.png", 1, lambda: save_png(small, out / "small.png", prov)),
            ("PNG 512x512", out / "large.png", 1, lambda: save_png(large, out / "large.png", prov)),
            ("grid of 64 (64x64 each), one manifest", out / "grid.png", 1, lambda: save_grid(images, out / "grid.png", prov)),
            ("64 individual PNGs 64x64, each signed", out / "each-*.png", 64, individual),
            ("GIF, 16 frames at 256x256", out / "walk.gif", 1, lambda: save_animation(frames, out / "walk.gif", 8, prov)),
            ("WAV, 5 s mono 44.1 kHz", out / "a.wav", 1, lambda: write_wav(audio, out / "a.wav", provenance=prov)),
        ]
        rows = []
        for name, path, n, write in cases:
            repeats = args.repeats if n == 1 else max(2, args.repeats // 3)
            on, off = signed_and_unsigned(write, repeats)  # leaves the unsigned files behind
            sign = timed(signing(path, n), repeats)
            size = sorted(out.glob(path.name))[0].stat().st_size
            rows.append((name, f"{size / 1024:,.1f} KB", f"{off / n * 1000:.1f}", f"{on / n * 1000:.1f}",
                         f"{sign / n * 1000:.1f}", f"{sign * 1000:.0f}", "yes" if sign / n * 1000 < TARGET_MS else "NO"))
    machine = describe(torch.get_num_threads())
    lines = ["# What signing costs (C2PA manifests, c2pa-python, ES256, no timestamp authority)\n",
             "| machine | |", "|---|---|", *(f"| {k} | {v} |" for k, v in machine.items()),
             f"| load average before | {load} |", f"| c2pa-python | {_c2pa_version()} |", "",
             "| output | file size (unsigned) | write unsigned (ms/file) | write signed (ms/file) | signing alone (ms/file) "
             f"| signing, all files (ms) | under {TARGET_MS:.0f} ms |", "|---|---:|---:|---:|---:|---:|:-:|",
             *(f"| {' | '.join(r)} |" for r in rows), "",
             f"Medians of {args.repeats} runs. The writes are whole writes through genart's writers (encode, sign, fsync, "
             "rename), signed and unsigned, and so as noisy as the disk; signing alone is sign_bytes on the bytes the "
             "writer made (build the manifest, hash the file, ES256, embed). A grid is one manifest whatever its number "
             "of images; individual files pay the cost per file.",
             "Measured with: `.venv/bin/python benchmarks/bench_signing.py`."]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


def _c2pa_version() -> str:
    try:
        import c2pa

        return f"{c2pa.__version__} (c2pa-rs {c2pa.sdk_version()})"
    except ImportError:
        return "not installed"


if __name__ == "__main__":
    main()
