"""The music kind's options: the recurrent network over MidiTok tokens (REMI or TSD, all tracks in one stream)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from genart.core.config import TrainConfig, choice, option, positive
from genart.data.music_options import MUSIC_DATA_HELP, transpose_range
from genart.models.recurrent_config import RecurrentConfig

KEY_CHOICES = ("c", "keep")  # c: every piece to C major / A minor (genart.data.music_keys); keep: as written


@dataclass
class MusicConfig(RecurrentConfig):
    """Music with the recurrent network over MidiTok tokens.

    `transpose` is a range of semitones, e.g. "-5..6": every training piece is also used transposed by each shift
    (held-out pieces never are). `keys` "c" (the default) first moves every piece to C major / A minor by its estimated
    key (genart.data.music_keys): measured, that is what brings a 5-minute builtin:bach model's pitch-class entropy and
    scale consistency within one sd of Bach's (benchmarks/bach_tonality.py). `max_pieces` (0: all) keeps the first N
    pieces of the data, for quick runs."""

    kind: ClassVar[str] = "music"
    before_option: ClassVar[dict[str, Any]] = {"keys": "keep"}
    val_hint = "0.1 holds out a tenth of the pieces; 0 turns validation off"
    data: str = option("", MUSIC_DATA_HELP)
    seed: int = option(0, "Random seed (also picks the held-out pieces).")
    batch: int = option(32, "Parallel lanes of tokens per step.")
    sample_every: int = option(250, "Write a MIDI preview and compute the validation loss every N steps (0: at the end).")
    tokenizer: str = option("remi", "MidiTok tokens: remi (bars and positions) or tsd (time shifts).")
    drums: str = option("keep", "keep or drop drum tracks.")
    transpose: str = option("0", "Augment the training pieces with transpositions, e.g. -5..6 (0: none).")
    keys: str = option("c", "c: move every piece to C major / A minor (its estimated key) before training, so "
                             "the model learns one key, not twelve; keep: leave pieces in their keys.")
    max_pieces: int = option(0, "Use only the first N pieces (0: all).")
    val_split: float = option(0.1, "Fraction of pieces held out for validation (0: none).")
    fim: float = option(0.5, "Share of training windows rearranged to teach filling bars (fill-in-the-middle, for "
                             "generate --infill; 0: continuation only). Measured: infilled bars join what follows "
                             "better than continued ones, for 1.6% of held-out continuation loss.")

    def validate(self) -> None:
        TrainConfig.validate(self)
        choice("tokenizer", self.tokenizer, ("remi", "tsd"))
        choice("drums", self.drums, ("keep", "drop"))
        choice("keys", self.keys, KEY_CHOICES)
        transpose_range(self.transpose)
        positive("max_pieces", self.max_pieces, allow_zero=True)
        self.validate_recurrent()

