"""ABC files as tunes: a collection (several tunes, each starting at an `X:` line) gives one piece per tune.

- Splitting: the file header (the field lines before the first `X:`) applies to every tune, as the ABC standard
  says; each tune of a collection is named `FILE#X TITLE` (its reference number and first `T:` title); a file
  of one tune is named by the file alone, as a MIDI file is.
- Converting: the whole file goes through abc2midi (the reference ABC player, bundled with symusic) in one call;
  guitar chords in quotes are not played (only the written notes are kept). A tune abc2midi writes no MIDI for
  is tried alone, then with music21; one that neither reads is skipped and named with its number, title and
  the reason, and the file's other tunes are kept.
- Repeats are expanded: abc2midi plays `|: :|` and first/second endings as a musician would, so a piece holds
  the tune as heard. (music21, used only for the tunes abc2midi cannot read, expands them when it can and keeps
  them as written otherwise.)
- Caching: the converted tunes of a file are kept per user under `CACHE/abc-KEY/` (CACHE: genart.data.music's
  cache_root), keyed by the file's content hash and the converters' versions, so a second read skips the
  converters. A cache that cannot be written (a read-only folder) is simply not used.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

READER_VERSION = 1  # bump when the splitting or converting below changes what a tune becomes
ABC_REPEATS = ("expanded: repeats and first/second endings are played out as abc2midi plays them (tunes only music21 "
               "could read: expanded where music21 can, else kept as written)")
FLAGS = ["-NGUI", "-quiet"]  # no guitar-chord accompaniment: only the written notes
_FIELD = re.compile(r"^([A-Za-z]):")
_ERROR = re.compile(r"^Error in line-char (\d+)-\d+ : (.*)$")


@dataclass
class Tune:
    """One tune of an ABC file: its reference number, title and text (the file header's fields included)."""

    number: str
    title: str
    text: str

    def name(self, label: str) -> str:
        return f"{label}#{self.number}" + (f" {self.title}" if self.title else "")


def decode_abc(raw: bytes) -> str:
    """ABC text: UTF-8 when it is (a BOM dropped), else Latin-1 (older collections), which reads any bytes."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split_tunes(text: str) -> list[Tune]:
    """The tunes of an ABC file, in order; the header's field lines (`L:`, `M:`, `%%MIDI ...`) go into each tune."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("X:")]
    if not starts:
        if not any(line.startswith("K:") for line in lines):
            return []
        lines, starts = ["X:1", *lines], [0]  # one tune written without its X: line
    header = [line for line in lines[:starts[0]]
              if line.startswith("%%") or (_FIELD.match(line) and line[0] not in "XTK")]
    tunes = []
    for k, s in enumerate(starts):
        body = lines[s + 1:starts[k + 1] if k + 1 < len(starts) else len(lines)]
        number = lines[s][2:].split("%")[0].strip() or str(k + 1)
        title = next((b[2:].split("%")[0].strip() for b in body if b.startswith("T:")), "")
        tunes.append(Tune(number, " ".join(title.split())[:80], "\n".join([lines[s], *header, *body])))
    return tunes


def count_tunes(raw: bytes) -> int:
    return sum(1 for line in raw.splitlines() if line.startswith(b"X:")) or int(b"K:" in raw)


@lru_cache(maxsize=1)
def abc2midi() -> tuple[str, str] | None:
    """(path, version) of symusic's abc2midi, or None when it is missing or does not run."""
    try:
        import symusic  # noqa: F401 - importing it sets SYMUSIC_ABC2MIDI
    except ImportError:
        return None
    exe = os.environ.get("SYMUSIC_ABC2MIDI", "")
    if not exe or not os.access(exe, os.X_OK):
        return None
    try:
        out = subprocess.run([exe, "-ver"], capture_output=True, text=True, timeout=20, errors="replace")
    except (OSError, subprocess.SubprocessError):
        return None
    return exe, " ".join(out.stdout.split()[:4]) or "unknown"


def converter_key() -> str:
    """The converters and their versions: part of the cache key, and of the report."""
    import music21

    tool = abc2midi()
    first = f"abc2midi {tool[1]}" if tool else "no abc2midi"
    return f"{first} {' '.join(FLAGS)}, music21 {music21.__version__}, reader {READER_VERSION}"


def run_abc2midi(tunes: list[Tune], timeout: float) -> tuple[dict[int, bytes], dict[int, str]]:
    """Convert tunes (index -> MIDI bytes) in one abc2midi call; errors per tune index (the first one)."""
    tool = abc2midi()
    if tool is None or not tunes:
        return {}, {}
    midis: dict[int, bytes] = {}
    errors: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="genart-abc-") as tmp:
        lines: list[str] = []
        ranges = []
        for i, t in enumerate(tunes):
            start = len(lines) + 1
            text = t.text.split("\n")
            lines += [f"X:{i + 1}", *text[1:], ""]  # numbered 1..n: abc2midi names its files by reference number
            ranges.append((start, len(lines)))
        src = Path(tmp) / "t.abc"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="replace")
        try:
            out = subprocess.run([tool[0], src.name, *FLAGS], cwd=tmp, capture_output=True, text=True,
                                 errors="replace", timeout=timeout).stdout
        except subprocess.TimeoutExpired:
            out = ""
            errors = {i: f"abc2midi took over {timeout:.0f} s" for i in range(len(tunes))}
        except OSError as e:
            return {}, {i: f"abc2midi did not run ({e.strerror or e})" for i in range(len(tunes))}
        for line in out.splitlines():
            m = _ERROR.match(line.strip())
            if m:
                at = int(m.group(1))
                i = next((k for k, (a, b) in enumerate(ranges) if a <= at <= b), None)
                if i is not None and i not in errors:
                    errors[i] = f"abc2midi: {m.group(2).strip()[:120]}"
        for i in range(len(tunes)):
            p = Path(tmp) / f"t{i + 1}.mid"
            if p.exists() and p.stat().st_size > 0:
                midis[i] = p.read_bytes()
    return midis, errors


def music21_midi(tune: Tune) -> bytes:
    """One tune converted by music21 (repeats expanded when music21 can); ValueError with a reason."""
    try:
        import music21

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj: Any = music21.converter.parseData(tune.text, format="abc")
            if isinstance(obj, music21.stream.Opus):
                obj = obj.scores[0] if obj.scores else obj
            try:
                return bytes(music21.midi.translate.music21ObjectToMidiFile(obj.expandRepeats()).writestr())
            except Exception:  # noqa: BLE001 - repeats music21 cannot expand (or write out) are kept as written
                return bytes(music21.midi.translate.music21ObjectToMidiFile(obj).writestr())
    except Exception as e:  # noqa: BLE001 - music21 raises many kinds for broken tunes
        msg = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise ValueError(f"music21: {msg}") from None


def convert_tunes(tunes: list[Tune]) -> list[dict[str, Any]]:
    """Each tune as {"number", "title", "midi" (bytes) or "reason", "by"}: abc2midi for all in one call, then the
    ones without MIDI alone (a crash on one tune must not cost the others), then music21."""
    midis, errors = run_abc2midi(tunes, timeout=60 + 0.5 * len(tunes))
    out = []
    for i, t in enumerate(tunes):
        entry: dict[str, Any] = {"number": t.number, "title": t.title}
        raw, by, why = midis.get(i), "abc2midi", errors.get(i, "abc2midi wrote no MIDI")
        if raw is None and len(tunes) > 1:
            alone, err = run_abc2midi([t], timeout=20)
            raw, why = alone.get(0), err.get(0, why)
        if raw is None:
            try:
                raw, by = music21_midi(t), "music21"
            except ValueError as e:
                why = f"{why}; {e}"
        if raw is None:
            entry["reason"] = why
        else:
            entry.update(midi=raw, by=by)
        out.append(entry)
    return out


def cache_file(root: Path, raw: bytes) -> Path:
    key = hashlib.sha256(converter_key().encode()).hexdigest()[:12]
    return root / f"abc-{key}" / (hashlib.sha256(raw).hexdigest()[:32] + ".json")


def load_cached(path: Path) -> list[dict[str, Any]] | None:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["tunes"]
        for e in entries:
            if "midi" in e:
                e["midi"] = base64.b64decode(e["midi"])
        return entries
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: convert again


def save_cached(path: Path, entries: list[dict[str, Any]]) -> bool:
    """Write the converted tunes to the cache; False (and nothing written) when the cache folder is not writable."""
    from genart.core.errors import GenartError
    from genart.core.files import atomic_path

    doc = {"converter": converter_key(), "tunes": [
        {**e, "midi": base64.b64encode(e["midi"]).decode()} if "midi" in e else e for e in entries]}
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    except (GenartError, OSError):
        return False
    return True


def read_abc(path: Path, label: str, cache_root: Path) -> tuple[list[tuple[str, bytes]], list[dict[str, str]],
                                                                dict[str, int]]:
    """The tunes of one ABC file as (name, MIDI bytes), the skipped tunes (name and reason), and counts
    (tunes, cached, by_music21); converted tunes are cached under cache_root. ValueError when it holds no tune."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError("empty file (0 bytes)" if not raw else "empty file (only blank space)")
    text = decode_abc(raw)
    cache = cache_file(cache_root, raw)
    entries = load_cached(cache)
    cached = entries is not None
    if entries is None:
        tunes = split_tunes(text)
        if not tunes:
            raise ValueError("no tune in it (an ABC tune starts with an X: line)")
        entries = convert_tunes(tunes)
        save_cached(cache, entries)
    pieces: list[tuple[str, bytes]] = []
    skipped: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for e in entries:
        name = label if len(entries) == 1 else Tune(e["number"], e["title"], "").name(label)  # one tune: the file
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # a collection may reuse a reference number and title
            name = f"{name} ({seen[name]})"
        if "midi" in e:
            pieces.append((name, e["midi"]))
        else:
            skipped.append({"file": name, "reason": e["reason"]})
    counts = {"tunes": len(entries), "cached": len(entries) if cached else 0,
              "by_music21": sum(1 for e in entries if e.get("by") == "music21")}
    return pieces, skipped, counts
