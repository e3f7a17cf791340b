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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genart.core.errors import ConfigError, DataError
from genart.data.files import BUILTIN_PREFIX, find_files, inside, rel
from genart.kinds.text.config import source_run
from genart.kinds.text.corpus import shakespeare
from genart.kinds.text.vocab import BPEVocab, CharVocab, missing_message, normalise, vocab_from_json

EXTENSIONS = {".txt", ".md"}
MIN_CHARS = 1000  # a corpus needs at least this many characters
MIN_TOKENS = 200  # ... and at least this many tokens once tokenised
GOOD_CHARS = 100_000  # what we suggest for useful results


BUILTIN_TEXT = {"shakespeare": shakespeare}  # name -> () -> (text, report)

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

def builtin_text(name: str) -> tuple[str, dict[str, Any]]:
    if name not in BUILTIN_TEXT:
        raise DataError(f"unknown built-in corpus {name!r}",
                        f"built-in corpora: {', '.join(BUILTIN_PREFIX + b for b in BUILTIN_TEXT)}")
    return BUILTIN_TEXT[name]()


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
            raise DataError(f"{source} has {len(lacking)} character(s) this run's vocabulary lacks: {missing_message(lacking)}",
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


# --- the kind's data entry points (genart.core.registry) -----------------------------------------------------

def load_text(cfg: Any, resolved: dict[str, Any]) -> TextData:
    """The corpus of a text run, tokenised: with the run's own vocabulary when resuming, the --init-from run's
    (grown by any new characters) when fine-tuning, else a new one."""
    text, report = read_corpus(cfg.data, cfg.encoding)
    vocab: CharVocab | BPEVocab | None = None
    extend = False
    if resolved.get("vocab"):
        vocab = vocab_from_json(resolved["vocab"])
    elif cfg.init_from:
        src = source_run(cfg.init_from)
        if "vocab" not in src.resolved:
            raise DataError(f"--init-from {cfg.init_from} has no vocabulary in its config.json",
                            "fine-tune from a trained text run")
        vocab, extend = vocab_from_json(src.resolved["vocab"]), True
        if vocab.kind != cfg.tokens:
            raise ConfigError(f"--init-from {cfg.init_from} uses --tokens {vocab.kind}, not {cfg.tokens}",
                              f"fine-tune with --tokens {vocab.kind} (or leave --tokens out)")
    old_size = vocab.size if vocab is not None else 0
    data = tokenise(text, report, cfg.tokens, cfg.vocab, cfg.val_split, vocab, extend)
    if not resolved.get("vocab"):  # a new run: the infilling markers follow the vocabulary when it trains for them
        data.vocab = data.vocab.with_markers(cfg.fim > 0)
        data.report["vocab_size"] = data.vocab.size
    if cfg.init_from and not resolved.get("vocab"):
        data.report["init_from"] = cfg.init_from
        data.report["new_symbols"] = data.vocab.size - old_size
    return data


def text_resolve(data: TextData) -> dict[str, Any]:
    """What config.json keeps to rebuild the model and tokenizer: sizes, then the vocabulary itself."""
    r = data.report
    return {"tokens": data.vocab.kind, "vocab_size": data.vocab.size, "characters": r.get("characters"),
            "train_tokens": r.get("train_tokens"), "val_tokens": r.get("val_tokens"), "vocab": data.vocab.to_json()}
