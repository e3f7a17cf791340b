"""Text metrics: how well the model predicts held-out text, and how diverse and original its samples are.

Columns: the model (its samples, and its loss on the held-out text), the held-out text (the run's validation split:
the last part of the corpus, never trained on), cut into pieces as long as the samples (the floor: what real, new
text of this kind scores), and random characters drawn independently with the training text's frequencies (the
ceiling; as a model, the unigram model, whose held-out loss is the ceiling of the validation loss).

- Validation loss in nats per character (a full pass over the held-out text; for BPE runs the nats of all tokens
  divided by the characters they spell), and the perplexity per character, exp(loss).
- distinct-n (Li et al. 2016), n = 1..4: distinct n-grams / all n-grams, pooled over the samples (n-grams never
  cross samples), over words (whitespace-separated), or over characters when the training text has few spaces
  (e.g. Chinese or Japanese). Pooled over the same number of equally long pieces in every column.
- n-gram novelty: the share of the samples' character 8-grams that never occur in the training text.
- The longest substring of any sample that occurs verbatim in the training text (found with rolling hashes over
  the whole training text, then checked exactly).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from genart.metrics import Figure

DEFAULT_N = 100
DEFAULT_LENGTH = 500  # characters per sample
NOVELTY_N = 8
DISTINCT = (1, 2, 3, 4)
BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2^64
INVERSE = pow(BASE, -1, 1 << 64)
FILTER_BITS = 22
SHOWN = 3  # samples shown in evaluation.html


# --- n-grams by rolling hashes -----------------------------------------------------------------------------------

def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + np.uint64(1)


class Hashes:
    """Polynomial hashes modulo 2^64 of every substring of one text, in O(1) vectorised work per substring:
    h(i, L) = sum_j c[i+j] B^(L-1-j) = (G[i+L] - G[i]) B^(i+L), with G[t] = sum_{j<t} c[j] B^-(j+1)."""

    def __init__(self, text: str) -> None:
        c = _codes(text)
        n = c.shape[0]
        with np.errstate(over="ignore"):
            self.pow = np.cumprod(np.concatenate([[np.uint64(1)], np.full(n, BASE, dtype=np.uint64)]), dtype=np.uint64)
            inv = np.cumprod(np.full(n, INVERSE, dtype=np.uint64), dtype=np.uint64)
            self.g = np.concatenate([[np.uint64(0)], np.cumsum(c * inv, dtype=np.uint64)])
        self.n = n

    def of_length(self, length: int, starts: np.ndarray | None = None) -> np.ndarray:
        """Hashes of the substrings of `length` starting at `starts` (default: every start)."""
        if starts is None:
            starts = np.arange(max(0, self.n - length + 1))
        ends = starts + length
        with np.errstate(over="ignore"):
            return (self.g[ends] - self.g[starts]) * self.pow[ends]


class Samples:
    """Several texts hashed together: their concatenation, and which starts stay inside one text."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.offsets = np.cumsum([0] + [len(t) for t in texts])
        self.hashes = Hashes("".join(texts))

    def starts(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Starts of the n-grams of `length` that lie inside one text, and the index of that text."""
        starts, owners = [], []
        for k, t in enumerate(self.texts):
            count = len(t) - length + 1
            if count > 0:
                starts.append(np.arange(count) + self.offsets[k])
                owners.append(np.full(count, k))
        if not starts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(starts), np.concatenate(owners)

    def found_in(self, reference: Hashes, length: int) -> tuple[np.ndarray, np.ndarray]:
        """For every n-gram of `length` (start, found): whether its hash occurs among the reference's."""
        starts, _ = self.starts(length)
        if not starts.size or reference.n < length:
            return starts, np.zeros(starts.shape[0], dtype=bool)
        mine = self.hashes.of_length(length, starts)
        keys = np.unique(mine)
        theirs = reference.of_length(length)
        shift = np.uint64(64 - FILTER_BITS)  # a quick filter first: most reference n-grams are not among ours
        table = np.zeros(1 << FILTER_BITS, dtype=bool)
        table[keys >> shift] = True
        theirs = theirs[table[theirs >> shift]]
        pos = np.searchsorted(keys, theirs).clip(max=keys.size - 1)
        seen = np.zeros(keys.size, dtype=bool)
        seen[pos[keys[pos] == theirs]] = True
        return starts, seen[np.searchsorted(keys, mine)]


def novelty(samples: list[str], reference: Hashes, n: int = NOVELTY_N) -> float | None:
    """The share of the samples' character n-grams that never occur in the reference text."""
    _, found = Samples(samples).found_in(reference, n)
    return float(1.0 - found.mean()) if found.size else None


def longest_copy(samples: list[str], reference_text: str, reference: Hashes | None = None) -> dict[str, Any]:
    """The longest substring of any sample that occurs verbatim in the reference text: its length, the text, and
    which sample it is in. Rolling hashes find it (binary search on the length); an exact check confirms it."""
    reference = reference or Hashes(reference_text)
    s = Samples(samples)
    best = {"length": 0, "text": "", "sample": None}

    def match(length: int) -> list[tuple[int, int]]:
        starts, found = s.found_in(reference, length)
        return [(int(p), length) for p in starts[found][:64]]

    lo, hi = 0, min(max((len(t) for t in samples), default=0), reference.n)
    while lo < hi:  # the largest length with a hash match
        mid = (lo + hi + 1) // 2
        if match(mid):
            lo = mid
        else:
            hi = mid - 1
    joined = "".join(samples)
    while lo > 0:  # confirm exactly (a hash collision is possible in principle)
        for p, length in match(lo):
            piece = joined[p:p + length]
            if piece in reference_text:
                k = int(np.searchsorted(s.offsets, p, side="right") - 1)
                return {"length": length, "text": piece, "sample": k, "start": int(p - s.offsets[k])}
        lo -= 1
    return best


def word_unit(text: str) -> str:
    """'words' when the text is spaced into words, else 'characters' (scripts written without spaces)."""
    sample = text[:200_000]
    return "words" if sample and sum(ch.isspace() for ch in sample) / len(sample) > 0.05 else "characters"


def distinct_n(samples: list[str], n: int, unit: str = "words") -> float | None:
    """Distinct n-grams / all n-grams, pooled over the samples; n-grams never cross a sample's end."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in samples:
        tokens = text.split() if unit == "words" else list(text)
        grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        seen.update(grams)
        total += len(grams)
    return len(seen) / total if total else None


def unigram_nats(train: str, held_out: str) -> float:
    """Cross-entropy (nats per character) of held_out under the training text's character frequencies
    (add-one smoothing over the characters of both): the loss of a model that ignores context."""
    counts = Counter(train)
    alphabet = set(counts) | set(held_out)
    total = len(train) + len(alphabet)
    held = Counter(held_out)
    return -sum(k * math.log((counts.get(ch, 0) + 1) / total) for ch, k in held.items()) / max(1, len(held_out))


def random_text(train: str, count: int, length: int, seed: int) -> list[str]:
    """Texts of independent characters drawn with the training text's frequencies."""
    counts = Counter(train)
    chars = list(counts)
    p = np.array([counts[c] for c in chars], dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.choice(len(chars), size=(count, length), p=p / p.sum())
    return ["".join(chars[i] for i in row) for row in draws]


def pieces(text: str, length: int, count: int) -> list[str]:
    """Up to `count` consecutive pieces of `length` characters of text."""
    if length <= 0:
        return []
    return [text[i:i + length] for i in range(0, len(text) - length + 1, length)][:count]


def text_figures(samples: list[str], held: list[str], noise: list[str], train: str, reference: Hashes,
                 unit: str) -> tuple[list[Figure], dict[str, Any]]:
    """distinct-n, novelty and the longest copy for the three columns (held may be empty)."""
    k = min(len(samples), len(held)) if held else len(samples)
    cols = {"model": samples, "floor": held, "ceiling": noise}
    figures = []
    for n in DISTINCT:
        v = {c: distinct_n(t[:k], n, unit) if t else None for c, t in cols.items()}
        figures.append(Figure(f"distinct_{n}", f"distinct-{n} ({unit})", v["model"], v["floor"], v["ceiling"], "",
                              f"pooled over {k} pieces; nearer the held-out text is better"))
    nov = {c: novelty(t, reference) if t else None for c, t in cols.items()}
    figures.append(Figure(f"novelty_{NOVELTY_N}", f"{NOVELTY_N}-gram novelty", nov["model"], nov["floor"], nov["ceiling"],
                          "", f"share of character {NOVELTY_N}-grams absent from the training text; 0 is copying"))
    copies = {c: longest_copy(t, train, reference) if t else None for c, t in cols.items()}
    figures.append(Figure("longest_copy", "longest copied substring (chars)",
                          *(float(copies[c]["length"]) if copies[c] else None for c in ("model", "floor", "ceiling")),
                          better="lower", note="the longest run of characters found verbatim in the training text"))
    return figures, {"longest_copy": copies, "pieces_for_distinct": k}


def copied_runs(samples: list[str], reference_text: str, reference: Hashes, length: int) -> list[str | None]:
    """For each sample, a run of `length` characters of it that occurs verbatim in the reference text (checked
    exactly), or None: one pass of rolling hashes over the reference for all the samples together."""
    out: list[str | None] = [None] * len(samples)
    if length <= 0 or not samples:
        return out
    s = Samples(samples)
    starts, found = s.found_in(reference, length)
    joined = "".join(samples)
    for p in starts[found].tolist():
        k = int(np.searchsorted(s.offsets, p, side="right") - 1)
        if out[k] is None:
            piece = joined[p:p + length]
            if piece in reference_text:  # a hash match confirmed (a collision is possible in principle)
                out[k] = piece
    return out
