"""C2PA training-and-data-mining assertions in a file: does its Content Credential say "not for AI training"?

The assertion `c2pa.training-mining` (C2PA 1.x) or `cawg.training-mining` (its successor, defined by the Creator
Assertions Working Group) holds `entries` such as `c2pa.ai_generative_training`, `c2pa.ai_training` and
`c2pa.data_mining` (or the `cawg.` ones), each with `use`: `allowed`, `notAllowed` or `constrained`.

The manifest is read with c2pa-python (the Content Authenticity Initiative's own library) when it is installed;
otherwise, or when the library cannot read it, a small reader finds the assertion's JUMBF box in the file and decodes
its CBOR. An opt-out is honoured whether or not the manifest's signature is valid or trusted: a wish does not need a
signature to be respected. Only manifests embedded in the file are read: nothing is fetched.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any

LABELS = ("c2pa.training-mining", "cawg.training-mining")
TRAINING = ("ai_generative_training", "ai_training", "data_mining")  # the uses training a model is
MAX_ITEMS = 10_000  # CBOR items decoded per assertion, at most
MAX_DEPTH = 16


def might_have_manifest(raw: bytes) -> bool:
    """A cheap first look: C2PA manifests live in JUMBF boxes labelled c2pa."""
    return b"jumb" in raw and b"c2pa" in raw


def training_wishes(raw: bytes, mime: str | None = None) -> dict[str, str]:
    """{entry: use} of the training-mining assertion in the file's manifests ({} when there is none)."""
    if not might_have_manifest(raw) or not any(label.encode() in raw for label in LABELS):
        return {}
    wishes = _with_library(raw, mime)
    if wishes is None:
        wishes = _from_boxes(raw)
    return wishes


def denied(wishes: dict[str, str]) -> list[str]:
    """The entries among the training uses whose `use` is notAllowed."""
    return sorted(k for k, v in wishes.items() if k.split(".", 1)[-1] in TRAINING and v == "notAllowed")


def _entries(data: Any) -> dict[str, str]:
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {str(k): str(v.get("use")) for k, v in entries.items() if isinstance(v, dict) and "use" in v}


def _with_library(raw: bytes, mime: str | None) -> dict[str, str] | None:
    """The wishes as c2pa-python reads them; None when it is not installed or cannot read the file."""
    try:
        import c2pa
    except ImportError:
        return None
    try:
        reader = c2pa.Reader(mime, io.BytesIO(raw)) if mime else c2pa.Reader(io.BytesIO(raw))
        with reader:
            store = json.loads(reader.json())
    except Exception:  # noqa: BLE001 - a manifest the library refuses is read by the small reader instead
        return None
    manifests = store.get("manifests") or {}
    order = [store.get("active_manifest")] + [k for k in manifests if k != store.get("active_manifest")]
    found: dict[str, str] = {}
    for key in order:  # the active manifest first: its wishes stand; earlier manifests' denials are added
        for a in (manifests.get(key) or {}).get("assertions") or []:
            if str(a.get("label", "")).split("__")[0] in LABELS:
                for entry, use in _entries(a.get("data")).items():
                    if entry not in found or use == "notAllowed":
                        found[entry] = use
    return found


# --- the small reader: JUMBF boxes and CBOR ------------------------------------------------------------------------

def _boxes(raw: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, content start, content end) of the ISO BMFF boxes in raw[start:end]."""
    out, p = [], start
    while p + 8 <= end:
        size, kind = struct.unpack(">I4s", raw[p:p + 8])
        head = 8
        if size == 1 and p + 16 <= end:
            size, head = struct.unpack(">Q", raw[p + 8:p + 16])[0], 16
        if size < head or p + size > end:
            break
        out.append((kind, p + head, p + size))
        p += size
    return out


def _from_boxes(raw: bytes) -> dict[str, str]:
    """The wishes of every training-mining assertion box found in the file (manifests split over several JPEG
    segments are not joined: the library reads those)."""
    found: dict[str, str] = {}
    p = raw.find(b"jumb")
    while p >= 4:
        start = p - 4
        size = struct.unpack(">I", raw[start:p])[0]
        end = min(len(raw), start + size) if size >= 8 else len(raw)
        children = _boxes(raw, start + 8, end)
        if children and children[0][0] == b"jumd":
            _, a, b = children[0]
            label = raw[a + 17:b].split(b"\x00", 1)[0].decode("utf-8", "replace").split("__")[0]
            if label in LABELS:
                for kind, c0, c1 in children[1:]:
                    if kind == b"cbor":
                        try:
                            data, _ = _cbor(raw, c0, c1, [0], 0)
                        except (ValueError, IndexError, struct.error, RecursionError):
                            continue
                        for entry, use in _entries(data).items():
                            if use == "notAllowed" or entry not in found:
                                found[entry] = use
        p = raw.find(b"jumb", p + 4)
    return found


def _cbor(raw: bytes, p: int, end: int, count: list[int], depth: int) -> tuple[Any, int]:
    """One CBOR item at raw[p] (definite lengths only): (value, position after it)."""
    count[0] += 1
    if count[0] > MAX_ITEMS or depth > MAX_DEPTH or p >= end:
        raise ValueError("CBOR too large, too deep or cut short")
    first = raw[p]
    major, info = first >> 5, first & 31
    p += 1
    if info < 24:
        n = info
    elif info in (24, 25, 26, 27):
        width = 1 << (info - 24)
        if major == 7 and info != 24:  # floats
            fmt = {2: ">e", 4: ">f", 8: ">d"}[width]
            return struct.unpack(fmt, raw[p:p + width])[0], p + width
        n = int.from_bytes(raw[p:p + width], "big")
        p += width
    else:
        raise ValueError("indefinite-length CBOR")
    if major == 0:
        return n, p
    if major == 1:
        return -1 - n, p
    if major in (2, 3):
        if p + n > end:
            raise ValueError("CBOR string cut short")
        chunk = raw[p:p + n]
        return (chunk if major == 2 else chunk.decode("utf-8", "replace")), p + n
    if major == 4:
        items = []
        for _ in range(n):
            v, p = _cbor(raw, p, end, count, depth + 1)
            items.append(v)
        return items, p
    if major == 5:
        d: dict[Any, Any] = {}
        for _ in range(n):
            k, p = _cbor(raw, p, end, count, depth + 1)
            v, p = _cbor(raw, p, end, count, depth + 1)
            d[k if isinstance(k, (str, int)) else repr(k)] = v
        return d, p
    if major == 6:
        return _cbor(raw, p, end, count, depth + 1)
    return {20: False, 21: True, 22: None}.get(n), p
