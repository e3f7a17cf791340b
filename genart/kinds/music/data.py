"""The music kind's data: the pieces of genart.data.music (MIDI, MusicXML, ABC, builtin:bach), tokenised with MidiTok.

- Tokens: MidiTok REMI or TSD with programs, so every track of a piece goes into one stream (polyphonic and
  multi-track pieces are kept). `--drums drop` removes drum tracks first. Each piece starts with a BOS token.
- A held-out split by piece (drawn with the run's seed); `--transpose -5..6` adds transposed copies of the
  training pieces only.
- The report (data.json) lists the counts and every skipped file with its reason.
- Token ids are cached per user (genart.kinds.music.token_cache), so a second run on the same data skips MidiTok.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from genart.core.errors import ConfigError, DataError
from genart.data.music import PITCH_RANGE, bars_of, read_pieces, small_data_warning, split_pieces, transposed
from genart.data.music_keys import normalise_keys
from genart.kinds.music.token_cache import encode_pieces
from genart.models.infill import MARKERS, Markers

MIN_PIECE_TOKENS = 16  # a piece shorter than this (after tokenisation) is skipped as too short
SPECIALS = ["PAD", "BOS", "EOS"]


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
    """The token vocabulary of a music run: a MidiTok tokenizer and its name; with `fim`, the four infilling markers
    (genart.models.infill) follow the tokenizer's ids. `fim_boundary` (REMI's Bar) is where infilling cuts."""

    def __init__(self, name: str, fim: bool = False) -> None:
        self.name = name
        self.tokenizer = build_tokenizer(name)
        self.bos = int(self.tokenizer.vocab["BOS_None"])
        self.specials = {int(self.tokenizer.vocab[f"{s}_None"]) for s in SPECIALS}
        self.bar: int | None = int(self.tokenizer.vocab["Bar_None"]) if "Bar_None" in self.tokenizer.vocab else None
        self.fim_boundary = self.bar
        self.markers = Markers(len(self.tokenizer)) if fim else None

    @property
    def size(self) -> int:
        return len(self.tokenizer) + (MARKERS if self.markers else 0)

    def encode(self, score: Any) -> list[int]:
        """A symusic Score to token ids (no BOS)."""
        seq = self.tokenizer.encode(score)
        if isinstance(seq, list):  # not expected with one stream, but be safe
            return [i for s in seq for i in s.ids]
        return list(seq.ids)

    def decode(self, ids: list[int]) -> tuple[Any, int]:
        """Token ids to a symusic Score and the number of invalid tokens dropped on the way. Never raises."""
        from symusic import Score

        ids = [int(i) for i in ids if 0 <= int(i) < len(self.tokenizer) and int(i) not in self.specials]  # no markers
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


def load_music(cfg: Any, resolved: dict[str, Any]) -> MusicData:
    """Read, tokenise and split the data of a music run (`cfg` is a MusicConfig)."""
    from genart.kinds.music.config import transpose_range
    from genart.metrics.music import data_statistics

    vocab = MusicVocab(cfg.tokenizer, fim=getattr(cfg, "fim", 0.0) > 0)
    if resolved.get("vocab_size") and resolved["vocab_size"] != vocab.size:
        raise DataError(f"this run's tokenizer had {resolved['vocab_size']} tokens; this MidiTok makes {vocab.size}",
                        "install the miditok version the run was trained with, or start over with --fresh")
    pieces, report = read_pieces(cfg.data, cfg.drums, cfg.max_pieces)
    if getattr(cfg, "keys", "keep") == "c":  # every piece to C major / A minor (genart.data.music_keys)
        pieces, report["keys"] = normalise_keys(pieces)
    skipped = report["skipped_files"]
    tokens: list[list[int]] = []
    kept: list[tuple[str, Any]] = []
    for (name, score), ids in zip(pieces, encode_pieces(vocab, pieces), strict=True):
        if isinstance(ids, str):
            skipped.append({"file": name, "reason": ids})
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
        warnings=[w for w in [small_data_warning(len(kept), len(val_idx), total_tokens)] if w],
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
