"""Vocabularies of the text kind: characters, or a byte-level BPE trained on the corpus; both round-trip via JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from genart.core.errors import DataError
from genart.models.infill import MARKERS, Markers


class Vocab(Protocol):
    """A tokenizer: text <-> ids, saved as JSON in the run."""

    kind: str

    @property
    def size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...

    def missing(self, text: str) -> list[str]: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass
class CharVocab:
    """One id per distinct character (code point), in a fixed order; with `fim`, the four infilling markers
    (genart.models.infill) follow them."""

    symbols: list[str]
    kind: str = "char"
    fim: bool = False
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def build(cls, text: str) -> CharVocab:
        return cls(sorted(set(text)))

    @property
    def size(self) -> int:
        return len(self.symbols) + (MARKERS if self.fim else 0)

    @property
    def markers(self) -> Markers | None:
        return Markers(len(self.symbols)) if self.fim else None

    def with_markers(self, on: bool = True) -> CharVocab:
        return CharVocab(self.symbols, fim=on)

    def encode(self, text: str) -> list[int]:
        index = self.index
        return [index[c] for c in text]

    def encode_tensor(self, text: str) -> torch.Tensor:
        """Encode a long text quickly (a lookup table over code points)."""
        if not text:
            return torch.zeros(0, dtype=torch.int32)
        cps = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32)
        table = torch.full((max(map(ord, self.symbols)) + 1,), -1, dtype=torch.int32)
        table[torch.tensor([ord(s) for s in self.symbols], dtype=torch.long)] = torch.arange(len(self.symbols),
                                                                                             dtype=torch.int32)
        if int(cps.max()) >= table.numel():
            raise KeyError("a character outside the vocabulary")
        ids = table[cps.long()]
        if int(ids.min()) < 0:
            raise KeyError("a character outside the vocabulary")
        return ids.to(torch.int32)

    def decode(self, ids: list[int]) -> str:
        """The text of `ids`; markers (and any id past the vocabulary) are dropped."""
        s = self.symbols
        n = len(s)
        return "".join(s[i] for i in ids if 0 <= i < n)

    def missing(self, text: str) -> list[str]:
        return sorted(set(text) - set(self.index))

    def extended(self, text: str) -> CharVocab:
        """This vocabulary plus the characters of `text` it lacks, appended (old ids keep their meaning)."""
        new = sorted(set(text) - set(self.index))
        return CharVocab(self.symbols + new, fim=self.fim)

    def to_json(self) -> dict[str, Any]:
        return {"type": "char", "symbols": self.symbols, **({"fim": True} if self.fim else {})}


class BPEVocab:
    """A byte-level BPE tokenizer (the `tokenizers` library), trained locally: every text encodes."""

    kind = "bpe"

    def __init__(self, tokenizer: Any, fim: bool = False) -> None:
        self.tok = tokenizer
        self.fim = fim

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPEVocab:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, special_tokens=[],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(_chunks(text), trainer=trainer, length=None)
        return cls(tok)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> BPEVocab:
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_str(json.dumps(obj["tokenizer"])), fim=bool(obj.get("fim", False)))

    @property
    def size(self) -> int:
        return int(self.tok.get_vocab_size()) + (MARKERS if self.fim else 0)

    @property
    def markers(self) -> Markers | None:
        return Markers(int(self.tok.get_vocab_size())) if self.fim else None

    def with_markers(self, on: bool = True) -> BPEVocab:
        return BPEVocab(self.tok, fim=on)

    def encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text).ids) if text else []

    def encode_tensor(self, text: str) -> torch.Tensor:
        ids: list[int] = []
        for enc in self.tok.encode_batch(list(_chunks(text))):
            ids.extend(enc.ids)
        return torch.tensor(ids, dtype=torch.int32)

    def decode(self, ids: list[int]) -> str:
        """The text of `ids`; markers (and any id past the vocabulary) are dropped."""
        n = int(self.tok.get_vocab_size())
        ids = [i for i in ids if 0 <= i < n]
        return str(self.tok.decode(ids, skip_special_tokens=False)) if ids else ""

    def missing(self, text: str) -> list[str]:
        return []  # byte-level: every character has bytes

    def to_json(self) -> dict[str, Any]:
        return {"type": "bpe", "tokenizer": json.loads(self.tok.to_str()), **({"fim": True} if self.fim else {})}


def _chunks(text: str, size: int = 1 << 16) -> list[str]:
    """Split text at line ends into pieces of about `size` characters (the pre-tokenizer never crosses them)."""
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            nl = text.rfind("\n", start, end)
            end = nl + 1 if nl > start else end
        out.append(text[start:end])
        start = end
    return out


def vocab_from_json(obj: dict[str, Any]) -> CharVocab | BPEVocab:
    if obj.get("type") == "char":
        return CharVocab(list(obj["symbols"]), fim=bool(obj.get("fim", False)))
    if obj.get("type") == "bpe":
        return BPEVocab.from_json(obj)
    raise DataError(f"unknown vocabulary type {obj.get('type')!r} in the run", "retrain with --fresh")


def normalise(text: str) -> str:
    """Drop a byte-order mark; CRLF and lone CR line ends become LF."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _show(chars: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) if c.isprintable() and not c.isspace() else f"U+{ord(c):04X}" for c in chars[:limit])
    return shown + (f" and {len(chars) - limit} more" if len(chars) > limit else "")


def missing_message(chars: list[str]) -> str:
    return _show(chars)
