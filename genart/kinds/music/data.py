"""Music: MIDI, MusicXML and ABC files (or the Bach chorales inside music21), tokenised with MidiTok.

- `--data DIR`: every .mid/.midi under DIR (read by symusic), plus .abc, .xml, .mxl and .musicxml (read through
  music21 and converted to MIDI in memory). `builtin:bach`: the Bach chorales that ship inside music21, converted
  once and cached per user (``$GENART_CACHE`` or ``~/.cache/genart``), keyed by music21's version.
- Tokens: MidiTok REMI or TSD with programs, so every track of a piece goes into one stream (polyphonic and
  multi-track pieces are kept). `--drums drop` removes drum tracks first. Each piece starts with a BOS token.
- A held-out split by piece (drawn with the run's seed); `--transpose -5..6` adds transposed copies of the
  training pieces only.
- The report (data.json) lists the counts and every skipped file with its reason.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genart.core.errors import ConfigError, DataError
from genart.data.files import BUILTIN_PREFIX, find_files, rel

MIDI_EXTENSIONS = {".mid", ".midi"}
SCORE_EXTENSIONS = {".abc", ".xml", ".mxl", ".musicxml"}
EXTENSIONS = MIDI_EXTENSIONS | SCORE_EXTENSIONS
MIN_PIECE_TOKENS = 16  # a piece shorter than this (after tokenisation) is skipped as too short
PITCH_RANGE = (21, 109)  # the piano's range (MidiTok's range is half-open)
BEATS_PER_BAR = 4  # bars are counted in 4/4 for lengths and statistics
SPECIALS = ["PAD", "BOS", "EOS"]
BUILTIN_MUSIC = {
    "bach": "the Bach chorales (four-part harmonisations) that ship inside the music21 package (BSD licence; "
            "the chorales are in the public domain)",
}


# --- the tokenizer ---------------------------------------------------------------------------------------

def build_tokenizer(name: str) -> Any:
    """MidiTok REMI or TSD with programs in one stream: every track of a piece, interleaved in time."""
    from miditok import REMI, TSD, TokenizerConfig

    cfg = TokenizerConfig(pitch_range=PITCH_RANGE, beat_res={(0, 4): 4, (4, 12): 2}, num_velocities=8,
                          special_tokens=list(SPECIALS), use_programs=True, one_token_stream_for_programs=True)
    if name == "remi":
        return REMI(cfg)
    if name == "tsd":
        return TSD(cfg)
    raise ConfigError(f"--tokenizer {name!r} is not one of remi, tsd", "use remi (bars and positions) or tsd (time shifts)")


class MusicVocab:
    """The token vocabulary of a music run: a MidiTok tokenizer and its name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tokenizer = build_tokenizer(name)
        self.bos = int(self.tokenizer.vocab["BOS_None"])
        self.specials = {int(self.tokenizer.vocab[f"{s}_None"]) for s in SPECIALS}

    @property
    def size(self) -> int:
        return len(self.tokenizer)

    def encode(self, score: Any) -> list[int]:
        """A symusic Score to token ids (no BOS)."""
        seq = self.tokenizer.encode(score)
        if isinstance(seq, list):  # not expected with one stream, but be safe
            return [i for s in seq for i in s.ids]
        return list(seq.ids)

    def decode(self, ids: list[int]) -> tuple[Any, int]:
        """Token ids to a symusic Score and the number of invalid tokens dropped on the way. Never raises."""
        from symusic import Score

        ids = [int(i) for i in ids if 0 <= int(i) < self.size and int(i) not in self.specials]
        if not ids:
            return Score(self.tokenizer.time_division), 0
        try:
            ratio = float(self.tokenizer.tokens_errors(ids))
        except Exception:  # noqa: BLE001 - the error counter itself must not stop decoding
            ratio = 0.0
        invalid = int(round(ratio * len(ids)))
        try:
            score = self.tokenizer.decode(ids)
        except Exception:  # noqa: BLE001 - an ill-formed sequence decodes to nothing rather than crashing
            return Score(self.tokenizer.time_division), len(ids)
        return score, invalid


# --- reading pieces --------------------------------------------------------------------------------------

def _reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:160]


def read_midi(path: Path) -> Any:
    """A MIDI file as a symusic Score; ValueError with a reason (empty, truncated, not MIDI) when it cannot be."""
    import mido
    from symusic import Score

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
        raise ValueError(f"unreadable MIDI ({_reason(e)})") from None
    try:
        return Score.from_midi(raw)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"unreadable MIDI ({_reason(e)})") from None


def read_score_file(path: Path) -> Any:
    """A MusicXML / ABC file, parsed by music21 and converted to a symusic Score through MIDI in memory."""
    from symusic import Score

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
        raise ValueError(f"music21 could not read it ({_reason(e)})") from None
    try:
        return Score.from_midi(raw)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"unreadable after conversion ({_reason(e)})") from None


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
        for p in files:
            label = p.name if root.is_file() else rel(p, root)
            try:
                score = read_piece(p)
            except ValueError as e:
                skipped.append({"file": label, "reason": str(e)})
                continue
            except OSError as e:
                skipped.append({"file": label, "reason": f"unreadable ({e.strerror or e})"})
                continue
            h.update(label.encode())
            h.update(p.read_bytes())
            loaded.append((label, score))
        report = {"source": str(root), "files": total}
    for name, score in loaded:
        if drums == "drop":
            score = drop_drums(score)
        if note_count(score) == 0:
            skipped.append({"file": name, "reason": "no notes" + (" (after dropping drums)" if drums == "drop" else "")})
            continue
        pieces.append((name, score))
    report.update(skipped_files=skipped, content_hash=h.hexdigest()[:16])
    return pieces, report


# --- the data set ----------------------------------------------------------------------------------------

@dataclass
class MusicData:
    """Token streams of a music data set: the training stream (with transposed copies), the held-out stream,
    the training pieces themselves (for statistics), the vocabulary and the report."""

    train_ids: torch.Tensor
    val_ids: torch.Tensor
    vocab: MusicVocab
    train_pieces: list[Any] = field(default_factory=list)
    val_pieces: list[Any] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.train_ids.numel() + self.val_ids.numel())


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


def bars_of(score: Any) -> float:
    tpq = score.ticks_per_quarter
    return max(1.0, score.end() / (tpq * BEATS_PER_BAR))


def load_music(cfg: Any, resolved: dict[str, Any]) -> MusicData:
    """Read, tokenise and split the data of a music run (`cfg` is a MusicConfig)."""
    from genart.kinds.music.config import transpose_range
    from genart.kinds.music.statistics import data_statistics

    vocab = MusicVocab(cfg.tokenizer)
    if resolved.get("vocab_size") and resolved["vocab_size"] != vocab.size:
        raise DataError(f"this run's tokenizer had {resolved['vocab_size']} tokens; this MidiTok makes {vocab.size}",
                        "install the miditok version the run was trained with, or start over with --fresh")
    pieces, report = read_pieces(cfg.data, cfg.drums, cfg.max_pieces)
    skipped = report["skipped_files"]
    tokens: list[list[int]] = []
    kept: list[tuple[str, Any]] = []
    for name, score in pieces:
        try:
            ids = vocab.encode(score)
        except Exception as e:  # noqa: BLE001 - a piece MidiTok cannot tokenise is skipped, not fatal
            skipped.append({"file": name, "reason": f"could not be tokenised ({_reason(e)})"})
            continue
        if len(ids) < MIN_PIECE_TOKENS:
            skipped.append({"file": name, "reason": f"too short ({len(ids)} tokens; at least {MIN_PIECE_TOKENS} needed)"})
            continue
        tokens.append(ids)
        kept.append((name, score))
    skipped.sort(key=lambda s: s["file"])
    files = int(report["files"])
    if not kept:
        why = f"; {len(skipped)} skipped, e.g. {skipped[0]['file']}: {skipped[0]['reason']}" if skipped else ""
        raise DataError(f"no usable piece in {report['source']} ({files} files{why})",
                        "point --data at a folder of MIDI, MusicXML or ABC files with notes, or use builtin:bach")
    train_idx, val_idx = split_pieces(len(kept), cfg.val_split, cfg.seed)
    lo, hi = transpose_range(cfg.transpose)
    stream: list[int] = []
    dropped_shifts = 0
    for i in train_idx:
        for k in range(lo, hi + 1):
            if k == 0:
                ids = tokens[i]
            else:
                moved = transposed(kept[i][1], k)
                if moved is None:
                    dropped_shifts += 1
                    continue
                ids = vocab.encode(moved)
            stream.append(vocab.bos)
            stream.extend(ids)
    val_stream: list[int] = []
    for i in val_idx:
        val_stream.append(vocab.bos)
        val_stream.extend(tokens[i])
    total_tokens = sum(len(t) for t in tokens)
    total_bars = sum(bars_of(s) for _, s in kept)
    train_scores = [kept[i][1] for i in train_idx]
    report.update(
        used=len(kept), skipped=len(skipped), skipped_files=skipped, used_files=[n for n, _ in kept],
        pieces=len(kept), tokens=total_tokens, tokenizer=cfg.tokenizer, vocab_size=vocab.size, drums=cfg.drums,
        transpose=f"{lo}..{hi}", transposed_copies_out_of_range=dropped_shifts,
        train_pieces=len(train_idx), val_pieces=len(val_idx), val_files=[kept[i][0] for i in val_idx],
        train_tokens=len(stream), val_tokens=len(val_stream), tokens_per_bar=round(total_tokens / total_bars, 2),
        summary=f"{files} files, {len(kept)} usable pieces, {total_tokens:,} tokens ({cfg.tokenizer.upper()}, "
                f"{vocab.size} in the vocabulary); {len(train_idx)} pieces for training"
                + (f" ({len(stream):,} tokens with transpositions {lo}..{hi})" if (lo, hi) != (0, 0) else "")
                + f", {len(val_idx)} held out",
    )
    return MusicData(train_ids=torch.tensor(stream, dtype=torch.int32), val_ids=torch.tensor(val_stream, dtype=torch.int32),
                     vocab=vocab, train_pieces=train_scores, val_pieces=[kept[i][1] for i in val_idx], report=report,
                     stats=data_statistics(train_scores))


def music_resolve(data: MusicData) -> dict[str, Any]:
    """What config.json keeps: the tokenizer, sizes, the mean length of a bar in tokens, the data's statistics."""
    r = data.report
    return {"tokenizer": data.vocab.name, "vocab_size": data.vocab.size, "pieces": r.get("pieces"),
            "train_tokens": r.get("train_tokens"), "val_tokens": r.get("val_tokens"),
            "tokens_per_bar": r.get("tokens_per_bar"), "data_statistics": data.stats}
