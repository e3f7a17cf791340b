"""Quality check: do a digits GAN's samples look like digits to an independent classifier?

Trains nothing itself: point it at a run trained on builtin:digits, e.g.
    genart train gan --data builtin:digits --out runs/digits --minutes 4
    python benchmarks/digits_quality.py runs/digits
The classifier is scikit-learn's SVC fitted on the original 8x8 digits; samples are reduced to 8x8 to match.
For a conditional run it reports how often the classifier agrees with the class asked for.
"""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.svm import SVC

import genart


def samples_8x8(model: object, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n samples (seeds 1000 on) reduced to 8x8 on the digits' 0-16 scale, as rows for the SVC, and their labels."""
    seeds = list(range(1000, 1000 + n))
    images = model.generate_tensor(seeds=seeds)  # type: ignore[attr-defined]
    _, labels = model.latents(seeds)  # type: ignore[attr-defined]
    arr = ((images[:, 0].clamp(-1, 1) + 1) * 127.5).numpy().astype(np.uint8)
    small = np.stack([np.asarray(Image.fromarray(a).resize((8, 8), Image.Resampling.BOX), dtype=np.float64)
                      for a in arr]) / 255 * 16
    return small.reshape(n, -1), labels.numpy()


def main(run: str, n: int = 500) -> None:
    d = load_digits()
    clf = SVC(gamma=0.001).fit(d.data, d.target)
    model = genart.load(run)
    rows, y = samples_8x8(model, n)
    pred = clf.predict(rows)
    print(f"run {run}: step {model.step}, {n} samples")
    print("predicted class counts:", np.bincount(pred, minlength=10).tolist())
    if model.classes:
        print(f"agreement with the class asked for: {(pred == y).mean():.3f}")
        print("per class:", {c: round(float((pred[y == c] == c).mean()), 2) for c in range(10)})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 500)
