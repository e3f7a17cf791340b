"""Music files as symusic Scores, for every music kind: MIDI (read by symusic, checked by mido first), MusicXML
(parsed by music21 and converted to MIDI in memory), ABC (one piece per tune of a collection: genart.data.abc,
converted by abc2midi and cached per user), and `builtin:bach` (the Bach chorales inside music21, converted once
and cached per user in ``$GENART_CACHE`` or ``~/.cache/genart``, keyed by music21's version).

`read_pieces(source)` gives (name, Score) for every readable piece with notes and a report that lists every skipped
file (or ABC tune) with its reason; `split_pieces` draws the held-out pieces; `transposed` moves a piece by
semitones; `small_data_warning` says when the data is too small to hold anything out or to learn from.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from genart.core.errors import DataError
from genart.data.files import BUILTIN_PREFIX, find_files, rel

MIDI_EXTENSIONS = {".mid", ".midi"}
SCORE_EXTENSIONS = {".abc", ".xml", ".mxl", ".musicxml"}
EXTENSIONS = MIDI_EXTENSIONS | SCORE_EXTENSIONS
PITCH_RANGE = (21, 109)  # the piano's range (MidiTok's range is half-open)
BEATS_PER_BAR = 4  # bars are counted in 4/4 for lengths and statistics
FEW_PIECES = 24  # fewer usable pieces than this, or fewer tokens than FEW_TOKENS: the model will memorise them
FEW_TOKENS = 20_000
BUILTIN_MUSIC = {
    "bach": "the Bach chorales (four-part harmonisations) that ship inside the music21 package (BSD licence; "
            "the chorales are in the public domain)",
}


def reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:160]


def read_midi(path: Path) -> Any:
    """A MIDI file as a symusic Score; ValueError with a reason (empty, truncated, not MIDI) when it cannot be."""
    import mido

    raw = path.read_bytes()
    if not raw:
        raise ValueError("empty file (0 bytes)")
    if not raw.startswith(b"MThd"):
        raise ValueError("not a MIDI file (no MThd header)")
    try:
        import io

        mido.MidiFile(file=io.BytesIO(raw))
    except EOFError:
        raise ValueError("truncated MIDI file (it ends inside a track)") from None
    except Exception as e:  # noqa: BLE001 - mido raises many kinds for broken files
        raise ValueError(f"unreadable MIDI ({reason(e)})") from None
    return score_from_midi(raw, "unreadable MIDI")


def score_from_midi(raw: bytes, what: str) -> Any:
    """MIDI bytes as a symusic Score; ValueError "`what` (reason)" when symusic cannot read them."""
    from symusic import Score

    try:
        return Score.from_midi(raw)
    except Exception as e:  # noqa: BLE001 - symusic raises many kinds for broken files
        raise ValueError(f"{what} ({reason(e)})") from None


def read_score_file(path: Path) -> Any:
    """A MusicXML / ABC file, parsed by music21 and converted to a symusic Score through MIDI in memory."""

    if path.stat().st_size == 0:
        raise ValueError("empty file (0 bytes)")
    try:
        import music21

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = music21.converter.parse(str(path))
            mf = music21.midi.translate.music21ObjectToMidiFile(obj)
            raw = mf.writestr()
    except Exception as e:  # noqa: BLE001 - music21 raises many kinds for broken scores
        raise ValueError(f"music21 could not read it ({reason(e)})") from None
    return score_from_midi(raw, "unreadable after conversion")


def read_piece(path: Path) -> Any:
    return read_midi(path) if path.suffix.lower() in MIDI_EXTENSIONS else read_score_file(path)


def note_count(score: Any) -> int:
    return int(sum(len(t.notes) for t in score.tracks))


def drop_drums(score: Any) -> Any:
    score = score.copy()
    keep = [t for t in score.tracks if not t.is_drum]
    score.tracks = keep
    return score


def find_music_files(root: Path) -> tuple[list[Path], list[dict[str, str]], int]:
    """Every music file under root (sorted by relative path), the skipped entries with reasons, and the file count."""
    return find_files(root, EXTENSIONS, "a music")


def cache_root() -> Path:
    return Path(os.environ.get("GENART_CACHE") or Path.home() / ".cache" / "genart").expanduser()


def bach_files() -> list[Path]:
    try:
        import music21
    except ImportError:
        raise DataError("builtin:bach needs the music21 package, which is not installed", "pip install music21") from None
    paths = [Path(p) for p in music21.corpus.getComposer("bach")]
    return sorted((p for p in paths if p.suffix.lower() in (".mxl", ".xml") and p.name.startswith("bwv")),
                  key=lambda p: p.name)


def builtin_pieces(name: str, max_pieces: int = 0) -> tuple[list[tuple[str, bytes]], dict[str, Any]]:
    """The chorales as MIDI bytes: converted by music21 once, then read from the per-user cache."""
    if name not in BUILTIN_MUSIC:
        raise DataError(f"unknown built-in music {name!r}",
                        f"built-in music: {', '.join(BUILTIN_PREFIX + b for b in BUILTIN_MUSIC)}")
    import music21

    files = bach_files()
    if not files:
        raise DataError("the music21 package holds no Bach chorales", "reinstall it: pip install --force-reinstall music21")
    if max_pieces:
        files = files[:max_pieces]
    cache = cache_root() / f"bach-music21-{music21.__version__}"
    todo = [p for p in files if not (cache / (p.stem + ".mid")).exists()]
    skipped: list[dict[str, str]] = []
    if todo:
        from rich.console import Console
        from rich.progress import Progress

        from genart.core.files import atomic_path

        console = Console(stderr=True)
        with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task(f"converting {len(todo)} chorales with music21 (once; cached in {cache})", total=len(todo))
            for p in todo:
                try:
                    score = read_score_file(p)
                    with atomic_path(cache / (p.stem + ".mid")) as tmp:
                        score.dump_midi(str(tmp))
                except (ValueError, OSError) as e:
                    skipped.append({"file": p.name, "reason": str(e)})
                progress.advance(task)
    failed = {s["file"] for s in skipped}
    pieces = [(p.name, (cache / (p.stem + ".mid")).read_bytes()) for p in files if p.name not in failed]
    report = {"source": BUILTIN_PREFIX + name, "about": BUILTIN_MUSIC[name], "package": f"music21 {music21.__version__}",
              "cache": str(cache), "files": len(files), "skipped_files": skipped}
    return pieces, report


def read_tunes(path: Path, label: str, counts: dict[str, int]) -> tuple[list[tuple[str, Any]], list[dict[str, str]]]:
    """The tunes of an ABC file as (name, Score) and the skipped tunes with reasons; adds to `counts`."""
    from symusic import Score

    from genart.data.abc import read_abc

    tunes, skipped, n = read_abc(path, label, cache_root())
    for k in counts:
        counts[k] += n[k]
    pieces = []
    for name, raw in tunes:
        try:
            pieces.append((name, Score.from_midi(raw)))
        except Exception as e:  # noqa: BLE001 - a converter's bad MIDI skips that tune only
            skipped.append({"file": name, "reason": f"unreadable after conversion ({reason(e)})"})
    return pieces, skipped


@contextmanager
def progress_bar(files: list[Path]) -> Iterator[Callable[[Path], None]]:
    """A progress bar on stderr (only on a terminal) counting pieces: one per file, one per tune of an ABC file."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from genart.data.abc import count_tunes

    def weight(p: Path) -> int:
        try:
            return max(1, count_tunes(p.read_bytes())) if p.suffix.lower() == ".abc" else 1
        except OSError:
            return 1

    console = Console(stderr=True)
    if not console.is_terminal or not files:
        yield lambda p: None
        return
    weights = {p: weight(p) for p in files}
    tunes = sum(w for p, w in weights.items() if p.suffix.lower() == ".abc")
    what = f"reading {len(files)} music files" + (f" ({tunes:,} ABC tunes)" if tunes else "")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(what, total=sum(weights.values()))
        yield lambda p: progress.advance(task, weights.get(p, 1))


def read_pieces(source: str, drums: str = "keep", max_pieces: int = 0) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """(name, symusic Score) of every readable piece with notes, and the report so far (counts, skipped files)."""
    from symusic import Score

    h = hashlib.sha256()
    pieces: list[tuple[str, Any]] = []
    if source.startswith(BUILTIN_PREFIX):
        raw_pieces, report = builtin_pieces(source[len(BUILTIN_PREFIX):], max_pieces)
        skipped = report.pop("skipped_files")
        loaded = []
        for name, raw in raw_pieces:
            h.update(name.encode())
            h.update(raw)
            loaded.append((name, Score.from_midi(raw)))
    else:
        root = Path(source).expanduser()
        if not root.exists():
            raise DataError(f"--data {source} does not exist", "give a folder of MIDI / MusicXML / ABC files, or builtin:bach")
        if root.is_file():
            files, skipped, total = [root], [], 1
        else:
            files, skipped, total = find_music_files(root)
        if max_pieces:
            files = files[:max_pieces]

        loaded = []
        abc = {"tunes": 0, "cached": 0, "by_music21": 0}
        with progress_bar(files) as advance:
            for p in files:
                label = p.name if root.is_file() else rel(p, root)
                try:
                    if p.suffix.lower() == ".abc":
                        tunes, bad = read_tunes(p, label, abc)
                        loaded += tunes
                        skipped += bad
                    else:
                        loaded.append((label, read_piece(p)))
                except ValueError as e:
                    skipped.append({"file": label, "reason": str(e)})
                    continue
                except OSError as e:
                    skipped.append({"file": label, "reason": f"unreadable ({e.strerror or e})"})
                    continue
                finally:
                    advance(p)
                h.update(label.encode())
                h.update(p.read_bytes())
        if max_pieces:
            loaded = loaded[:max_pieces]
        report = {"source": str(root), "files": total}
        if abc["tunes"]:
            from genart.data.abc import ABC_REPEATS, converter_key

            report.update(abc_tunes=abc["tunes"], abc_repeats=ABC_REPEATS, abc_converter=converter_key(),
                          abc_cached_tunes=abc["cached"], abc_tunes_by_music21=abc["by_music21"])
    for name, score in loaded:
        if drums == "drop":
            score = drop_drums(score)
        if note_count(score) == 0:
            skipped.append({"file": name, "reason": "no notes" + (" (after dropping drums)" if drums == "drop" else "")})
            continue
        pieces.append((name, score))
    report.update(skipped_files=skipped, content_hash=h.hexdigest()[:16])
    return pieces, report


def transposed(score: Any, k: int) -> Any | None:
    """The piece moved by k semitones (drums stay), or None when a note would leave the tokenizer's range."""
    if k == 0:
        return score
    lo, hi = PITCH_RANGE
    for t in score.tracks:
        if t.is_drum or not len(t.notes):
            continue
        p = t.notes.numpy()["pitch"].astype(int)
        if p.min() + k < lo or p.max() + k >= hi:
            return None
    out = score.copy()
    for t in out.tracks:
        if not t.is_drum:
            t.shift_pitch(k, inplace=True)
    return out


def split_pieces(n: int, val_split: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of training and held-out pieces: a seeded draw of round(n * val_split) pieces (at least one when
    val_split > 0 and there are two pieces or more)."""
    if val_split <= 0 or n < 2:
        return list(range(n)), []
    k = min(n - 1, max(1, int(round(n * val_split))))
    order = np.random.default_rng(seed).permutation(n)
    val = sorted(int(i) for i in order[:k])
    vs = set(val)
    return [i for i in range(n) if i not in vs], val


def small_data_warning(pieces: int, held_out: int, tokens: int | None = None) -> str | None:
    """One line when the usable data is too small: nothing held out, or so little that the model will memorise it
    (fewer than FEW_PIECES pieces or FEW_TOKENS tokens); None when it is enough."""
    add = "add more pieces (dozens at least)"
    if pieces <= 1:
        return f"only {pieces} piece: nothing can be held out, and the model will memorise it; {add}"
    size = f"{pieces} pieces" + (f", {tokens:,} tokens" if tokens is not None else "")
    few = pieces < FEW_PIECES or (tokens is not None and tokens < FEW_TOKENS)
    if few and held_out == 0:
        return f"only {size} and none held out: the model will memorise them and nothing will show it; {add}"
    if few:
        return f"only {size} ({held_out} held out): the model will memorise them rather than learn the style; {add}"
    return None


def bars_of(score: Any) -> float:
    tpq = score.ticks_per_quarter
    return max(1.0, score.end() / (tpq * BEATS_PER_BAR))


