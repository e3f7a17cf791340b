"""The token ids of a music data set, cached per user (genart.data.music.cache_root).

MidiTok takes about 4 ms a piece, so a collection of thousands of tunes took ten seconds or more to tokenise each
time a run started (or resumed). The ids of every piece are kept in one file per data set, keyed by the sha256 of
the tokenizer (its name, MidiTok's and symusic's versions) and of every piece's MIDI bytes, so any change to the
pieces (other files, keys moved, drums dropped) makes a new key. The file is an npz of numbers and strings (no
pickle); one that is missing, damaged or does not match is simply made again, and a cache folder that cannot be
written is not used.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from genart.data.music import cache_root, reason


def cache_path(vocab: Any, pieces: list[tuple[str, Any]]) -> Path:
    h = hashlib.sha256(f"{vocab.name}|miditok {version('miditok')}|symusic {version('symusic')}".encode())
    for _, score in pieces:
        data = score.dumps_midi()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return cache_root() / "tokens" / f"{h.hexdigest()[:40]}.npz"


def load(path: Path, n: int) -> list[list[int] | str] | None:
    """The cached ids (or reasons) of n pieces; None when missing, damaged or not for n pieces."""
    try:
        with np.load(path, allow_pickle=False) as f:
            ids, lengths, reasons = f["ids"], f["lengths"], f["reasons"]
    except (OSError, ValueError, KeyError):
        return None
    if len(lengths) != n or len(reasons) != n or int(lengths.clip(min=0).sum()) != len(ids):
        return None
    out: list[list[int] | str] = []
    start = 0
    for length, why in zip(lengths.tolist(), reasons.tolist(), strict=True):
        if length < 0:
            out.append(str(why))
        else:
            out.append(ids[start:start + length].tolist())
            start += length
    return out


def save(path: Path, encoded: list[list[int] | str]) -> bool:
    """Write the ids; False (and nothing written) when the cache folder is not writable."""
    from genart.core.errors import GenartError
    from genart.core.files import atomic_path

    ids = [e for e in encoded if not isinstance(e, str)]
    arrays = {"ids": np.asarray([i for e in ids for i in e], dtype=np.int32),
              "lengths": np.asarray([-1 if isinstance(e, str) else len(e) for e in encoded], dtype=np.int64),
              "reasons": np.asarray([e if isinstance(e, str) else "" for e in encoded], dtype=str)}
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    except (GenartError, OSError):
        return False
    return True


def encode_pieces(vocab: Any, pieces: list[tuple[str, Any]]) -> list[list[int] | str]:
    """The token ids of each (name, score), or why MidiTok could not tokenise it: from the cache when it holds this
    data set, else tokenised here and cached."""
    path = cache_path(vocab, pieces)
    cached = load(path, len(pieces))
    if cached is not None:
        return cached
    out: list[list[int] | str] = []
    for _, score in pieces:
        try:
            out.append(vocab.encode(score))
        except Exception as e:  # noqa: BLE001 - a piece MidiTok cannot tokenise is skipped, not fatal
            out.append(f"could not be tokenised ({reason(e)})")
    save(path, out)
    return out
