"""Keys of pieces of music: a Krumhansl-Schmuckler estimate, and moving a piece to C major / A minor.

A model trained on pieces in every key must spread what it learns over twelve transpositions; with every piece
moved to C major (or its relative A minor) it learns one. The estimate correlates a piece's duration-weighted
pitch-class histogram with the Krumhansl-Kessler major and minor profiles rotated to every tonic (cheap: numpy on
twelve numbers). Pitch-class entropy and scale consistency do not change under transposition, so the statistics
of the pieces stay what they were.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genart.data.music import transposed

# Krumhansl & Kessler (1982) probe-tone ratings, tonic first
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def pitch_class_histogram(score: Any) -> np.ndarray:
    """Twelve weights: the total duration (in ticks) of the pitched notes of each pitch class (drums left out)."""
    hist = np.zeros(12, dtype=np.float64)
    for t in score.tracks:
        if t.is_drum or not len(t.notes):
            continue
        a = t.notes.numpy()
        hist += np.bincount(a["pitch"].astype(np.int64) % 12, weights=np.maximum(a["duration"], 1).astype(np.float64),
                            minlength=12)
    return hist


def _standardised(rows: np.ndarray) -> np.ndarray:
    rows = rows - rows.mean(-1, keepdims=True)
    return rows / np.sqrt((rows**2).sum(-1, keepdims=True))


# every key's profile, standardised: row 12 * m + tonic is mode m ("major", "minor") on that tonic
MODES = ("major", "minor")
KEY_PROFILES = _standardised(np.stack([np.roll(p, t) for p in (MAJOR_PROFILE, MINOR_PROFILE) for t in range(12)]))


def estimate_key(hist: np.ndarray) -> tuple[int, str, float]:
    """(tonic pitch class 0-11, "major" or "minor", correlation) of the key whose profile best matches `hist`
    (Pearson correlation with all 24 rotated profiles at once; the first best on a tie);
    (0, "major", 0.0) for an empty or flat histogram."""
    hist = np.asarray(hist, dtype=np.float64)
    if hist.sum() <= 0 or np.allclose(hist, hist[0]):
        return 0, "major", 0.0
    r = KEY_PROFILES @ _standardised(hist)
    best = int(np.argmax(r))
    return best % 12, MODES[best // 12], float(r[best])


def key_name(tonic: int, mode: str) -> str:
    return f"{NAMES[tonic % 12]} {mode}"


def shift_to_c(tonic: int, mode: str) -> int:
    """Semitones (-6 to 5, the nearer way) that move `tonic` to C (major) or A (minor)."""
    target = 0 if mode == "major" else 9
    k = (target - tonic) % 12
    return k - 12 if k > 5 else k


def normalise_key(score: Any) -> tuple[Any, int]:
    """The piece moved to C major / A minor (by its estimated key) and the shift in semitones. When the nearer way
    takes a note off the tokenizer's range the other way (an octave apart) is tried; when neither fits the piece
    stays as it is (shift 0)."""
    tonic, mode, r = estimate_key(pitch_class_histogram(score))
    if r <= 0:
        return score, 0
    k = shift_to_c(tonic, mode)
    if k == 0:
        return score, 0
    for shift in (k, k - 12 if k > 0 else k + 12):
        moved = transposed(score, shift)
        if moved is not None:
            return moved, shift
    return score, 0


def normalise_keys(pieces: list[tuple[str, Any]]) -> tuple[list[tuple[str, Any]], str]:
    """Every (name, score) moved to C major / A minor, and a line for the ingest report saying how many moved."""
    out, moved = [], 0
    for name, score in pieces:
        score, k = normalise_key(score)
        moved += k != 0
        out.append((name, score))
    return out, f"C major / A minor (estimated keys; {moved} of {len(pieces)} pieces transposed)"
