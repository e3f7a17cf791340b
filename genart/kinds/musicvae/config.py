"""The musicvae kind's options: a sequence VAE over windows of bars (MusicVAE-style), on a 16th-note grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from genart.core.config import TrainConfig, at_most, option, positive
from genart.core.errors import ConfigError
from genart.data.music_options import MUSIC_DATA_HELP, transpose_range

MUSICVAE_DATA_HELP = MUSIC_DATA_HELP
BAR_CHOICES = (2, 4, 8, 16)
MAX_VOICES = 4


@dataclass
class MusicVAEConfig(TrainConfig):
    """A sequence VAE over windows of `bars` bars (bidirectional GRU encoder, GRU decoder; a conductor over bars
    with --hierarchical, the default for 16 bars). Each window is a 16th-note grid; each voice (simultaneous notes
    ranked by pitch, top voice first) is a categorical per step over rest, hold and the pitches 21..108.

    KL: per-unit free bits (`free_bits` nats per latent unit are not penalised) under a linear warm-up of beta over
    `kl_warmup` steps, so that the latent is used. `transpose` shifts each training batch by a random number of
    semitones in the range (held-out windows never are). With `attribute_reg` > 0, latent dimension i is trained to
    order the windows of a batch by attribute i (Pati & Lerch 2020, attribute-regularised VAE), which gives the
    attribute vectors used by --edit a strong, consistent effect."""

    kind: ClassVar[str] = "musicvae"
    before_option: ClassVar[dict[str, Any]] = {"attribute_reg": 0.0}
    val_hint = "0.1 holds out a tenth of the pieces; 0 turns validation off"
    data: str = option("", MUSICVAE_DATA_HELP)
    seed: int = option(0, "Random seed (also picks the held-out pieces).")
    batch: int = option(64, "Windows per step.")
    sample_every: int = option(500, "Write MIDI previews and compute the held-out loss every N steps (0: at the end).")
    bars: int = option(4, "Bars per window: 2, 4, 8 or 16.")
    voices: int = option(0, "Voices per window (0: auto, up to 4 from the data's polyphony).")
    hop: int = option(1, "Bars between the starts of neighbouring training windows.")
    latent: int = option(128, "Size of the latent code.")
    hidden: int = option(256, "Units of the encoder and decoder GRUs.")
    embed: int = option(64, "Size of the embedding of one grid step (all voices).")
    hierarchical: str = option("auto", "auto (on for 16 bars), on or off: a conductor GRU over bars feeds a "
                                       "decoder that restarts at each bar.")
    lr: float = option(1e-3, "AdamW learning rate.")
    beta: float = option(0.5, "Weight of the KL term after warm-up.")
    free_bits: float = option(0.25, "Nats of KL per latent unit that are not penalised (0: none).")
    kl_warmup: int = option(1000, "Steps over which beta ramps up from 0 (0: no warm-up).")
    attribute_reg: float = option(10.0, "Weight of the attribute regulariser (AR-VAE): latent dims 0, 1, 2 are "
                                        "trained to order the windows by density, range and syncopation, so that "
                                        "--edit moves them (0: off).")
    transpose: str = option("-5..6", "Shift training windows by random semitones in this range, e.g. -5..6 (0: none).")
    max_pieces: int = option(0, "Use only the first N pieces (0: all).")
    val_split: float = option(0.1, "Fraction of pieces held out for validation (0: none).")

    def validate(self) -> None:
        TrainConfig.validate(self)
        if self.bars not in BAR_CHOICES:
            raise ConfigError(f"--bars {self.bars} is not one of {', '.join(map(str, BAR_CHOICES))}",
                              "use 2, 4, 8 or 16 bars per window")
        if not 0 <= self.voices <= MAX_VOICES:
            raise ConfigError(f"--voices {self.voices} is out of range", f"use 1 to {MAX_VOICES}, or 0 for auto")
        if self.hierarchical not in ("auto", "on", "off"):
            raise ConfigError(f"--hierarchical {self.hierarchical!r} is not one of auto, on, off", "pick auto, on or off")
        for name in ("hop", "latent", "hidden", "embed", "lr"):
            positive(name, getattr(self, name))
        for name in ("beta", "free_bits", "kl_warmup", "max_pieces", "attribute_reg"):
            positive(name, getattr(self, name), allow_zero=True)
        at_most("latent", self.latent, 4096, "use a latent of 4096 or fewer")
        at_most("hidden", self.hidden, 8192, "use 8192 hidden units or fewer")
        at_most("embed", self.embed, 4096, "use an embedding of 4096 or fewer")
        if not 0 <= self.val_split < 1:
            raise ConfigError(f"--val-split {self.val_split} is out of range", self.val_hint)
        transpose_range(self.transpose)

    def is_hierarchical(self) -> bool:
        return self.hierarchical == "on" or (self.hierarchical == "auto" and self.bars >= 16)

