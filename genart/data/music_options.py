"""Options every music kind reads the same way: the help for --data and the --transpose range. Light on purpose
(no numpy, no symusic): kinds' configs import it, and `genart --help` reads them without importing a model."""

from __future__ import annotations

import re

from genart.core.errors import ConfigError

MUSIC_DATA_HELP = "A folder of .mid/.midi (and .abc, .xml, .mxl, .musicxml) files, one file, or builtin:bach."


def transpose_range(text: str) -> tuple[int, int]:
    """"-5..6" (or "3", or "0": none) to the inclusive range of semitone shifts (-12 to 12)."""
    m = re.fullmatch(r"\s*([+-]?\d+)\s*(?:\.\.\s*([+-]?\d+)\s*)?", str(text))
    if not m:
        raise ConfigError(f"--transpose {text!r} is not a range of semitones", "write e.g. -5..6, or 0 for none")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else lo
    lo, hi = min(lo, 0, hi), max(lo, 0, hi)  # the piece as it is is always kept
    if lo < -12 or hi > 12:
        raise ConfigError(f"--transpose {text} reaches beyond an octave", "use shifts from -12 to 12, e.g. -5..6")
    return lo, hi
