"""The text kind's options: a recurrent network (embedding -> LSTM/GRU -> linear head) over characters or BPE tokens."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from genart.core.config import TrainConfig, choice, option
from genart.core.errors import ConfigError, GenartError
from genart.models.recurrent_config import RecurrentConfig

# Defaults of the text options that --init-from can fill instead; chosen for the best model in ten minutes on a
# 2-core CPU (benchmarks/bench_text.py).
TEXT_DEFAULTS: dict[str, Any] = {
    "tokens": "char",
    "vocab": lambda c: 2000 if c.tokens == "bpe" else 0,
    "cell": "lstm",
    "layers": 2,
    "hidden": 256,
    "embed": lambda c: min(c.hidden, 64 if c.tokens == "char" else 256),
}


def source_run(path: str) -> Any:
    """The --init-from run (genart.core.rundir.RunDir), opened once however often it is asked for: the config fills in
    its options from it, the data its vocabulary, the model its weights."""
    key = Path(path).resolve()
    try:
        stamp = (key / "config.json").stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _open_run(key, stamp)


@lru_cache(maxsize=4)
def _open_run(path: Path, stamp: int) -> Any:
    from genart.core.rundir import RunDir

    return RunDir.open(path)


@dataclass
class TextConfig(RecurrentConfig):
    """Text with a recurrent network over characters or BPE tokens.

    The network and tokenisation options left unset ("" or 0) take their defaults (TEXT_DEFAULTS) or, with
    --init-from, the values of the run fine-tuned from. `init_from` is not compared on resume."""

    kind: ClassVar[str] = "text"
    val_hint = "0.1 holds out the last 10% of the text; 0 turns validation off"
    data: str = option("", "A text file, a folder (its .txt, .md files) or builtin:shakespeare.")
    batch: int = option(64, "Parallel lanes of text per step.")
    sample_every: int = option(250, "Write a text sample and compute the validation loss every N steps (0: at the end).")
    encoding: str = option("utf-8", "Text encoding of the files (utf-8, utf-16, latin-1, cp1252, ...).")
    tokens: str = option("", "char (default; any script) or bpe (a byte-level BPE trained on the data).", unset=True)
    vocab: int = option(0, "BPE vocabulary size (default 2000).", unset=True)
    val_split: float = option(0.1, "Fraction of the text, at its end, held out for validation (0: none).")
    cell: str = option("", "lstm (default) or gru.", unset=True)
    layers: int = option(0, "Recurrent layers (default 2).", unset=True)
    hidden: int = option(0, "Units per recurrent layer (default 256).", unset=True)
    embed: int = option(0, "Embedding size (default 64 for char, 256 for bpe).", unset=True)
    dropout: float = option(0.2, "Dropout between layers and before the head.")
    lr: float = option(2e-2, "Peak AdamW learning rate (linear warm-up, then cosine decay to a tenth).")
    init_from: str = option("", "Fine-tune: start from this text run's weights (its network and vocabulary; new "
                                "characters get fresh embeddings).", unset=True)

    def validate(self) -> None:
        TrainConfig.validate(self)
        if self.init_from and any(getattr(self, name) in ("", 0) for name in TEXT_DEFAULTS if name != "vocab"):
            self._inherit()
        for name, value in TEXT_DEFAULTS.items():
            if getattr(self, name) in ("", 0):
                setattr(self, name, value(self) if callable(value) else value)
        choice("tokens", self.tokens, ("char", "bpe"))
        self.validate_recurrent()
        if self.tokens == "bpe" and not 300 <= self.vocab <= 65536:
            raise ConfigError(f"--vocab {self.vocab} is out of range for BPE", "use 300 to 65536; 2000 suits most corpora")
        if self.tokens == "char" and self.vocab:
            raise ConfigError(f"--vocab {self.vocab} is for BPE tokens", "add --tokens bpe, or leave --vocab out for characters")

    def _inherit(self) -> None:
        """Fine-tuning: unset network and tokenisation options come from the --init-from run; set ones must match."""
        try:
            src = source_run(self.init_from)
        except GenartError as e:
            raise ConfigError(f"--init-from {self.init_from}: {e.message}", "give a trained text run's folder") from None
        if src.config.kind != self.kind:
            raise ConfigError(f"--init-from {self.init_from} is a {src.config.kind} run, not a text run",
                              "fine-tune from a text run")
        for name in TEXT_DEFAULTS:
            theirs, mine = getattr(src.config, name), getattr(self, name)
            if mine in ("", 0):
                setattr(self, name, theirs)
            elif mine != theirs:
                raise ConfigError(f"--init-from {self.init_from} was trained with --{name} {theirs}, not {mine}",
                                  f"leave --{name} out to use that run's value")

    def differences(self, other: TrainConfig) -> list[str]:
        return [d for d in super().differences(other) if not d.startswith("init_from:")]
