"""ABC collections: how many tunes read, and how fast, first (converted by abc2midi) and again (from the cache),
over the real published collections that ship inside music21; and music21's own speed per tune, for comparison.

    .venv/bin/python benchmarks/bench_abc.py [--out benchmarks/RESULTS-abc.md] [--music21-tunes 20]

The cache goes to a throwaway folder, so the first read is a real first read."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from machine import describe, load_average  # noqa: E402

COLLECTIONS = ["oneills1850", "essenFolksong", "airdsAirs", "miscFolk"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="")
    ap.add_argument("--music21-tunes", type=int, default=20)
    args = ap.parse_args()
    os.environ["GENART_CACHE"] = tempfile.mkdtemp(prefix="genart-bench-abc-")
    import music21

    from genart.data.abc import converter_key, decode_abc, music21_midi, split_tunes
    from genart.data.music import read_pieces

    corpus = Path(music21.__file__).parent / "corpus"
    rows = ["| collection | files | tunes | read as pieces | first read | per 1000 tunes | cached read | per 1000 tunes |",
            "|---|---|---|---|---|---|---|---|"]
    for name in COLLECTIONS:
        folder = corpus / name
        t0 = time.perf_counter()
        pieces, report = read_pieces(str(folder))
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again, report2 = read_pieces(str(folder))
        cached = time.perf_counter() - t0
        n = report["abc_tunes"]
        assert len(again) == len(pieces) and report2["abc_cached_tunes"] == n
        rows.append(f"| {name} | {len(list(folder.glob('*.abc')))} | {n:,} | {len(pieces):,} ({100 * len(pieces) / n:.2f}%) "
                    f"| {first:.2f} s | {1000 * first / n:.2f} s | {cached:.2f} s | {1000 * cached / n:.3f} s |")
    tunes = split_tunes(decode_abc((corpus / "oneills1850" / "0001-0050.abc").read_bytes()))[:args.music21_tunes]
    t0 = time.perf_counter()
    ok = 0
    for t in tunes:
        try:
            music21_midi(t)
            ok += 1
        except ValueError:
            pass
    per = (time.perf_counter() - t0) / len(tunes)
    machine = ", ".join(f"{k} {v}" for k, v in describe(1).items())
    text = "\n".join([
        "# ABC collections: tunes read and speed", "",
        f"Machine: {machine}; load average {load_average()}.", f"Converter: {converter_key()}.", "",
        *rows, "",
        f"music21 alone (the fallback), first {len(tunes)} tunes of O'Neill's 0001-0050.abc: {per:.2f} s per tune "
        f"({per * 1000 / 60:.1f} minutes per 1000 tunes); it converted {ok} of {len(tunes)} to MIDI.", ""])
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
