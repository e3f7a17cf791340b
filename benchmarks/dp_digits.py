"""What differential privacy costs on builtin:digits: are a run's samples still recognisable digits?

    python benchmarks/dp_digits.py RUN [RUN ...]

For each run (trained on builtin:digits, with or without --dp-epsilon): its steps, minutes and the epsilon it spent,
then an independent classifier's view of 500 samples (scikit-learn's SVC fitted on the original 8x8 digits; samples
reduced to 8x8, as benchmarks/digits_quality.py does): for a class-conditional run how often it agrees with the
class asked for; for every run its mean confidence (the SVC's probability of the class it predicts) and how evenly the
samples spread over the ten classes (the entropy of the predicted classes over log 10: 1 is even, 0 one class).
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
from digits_quality import samples_8x8
from sklearn.datasets import load_digits
from sklearn.svm import SVC

import genart

warnings.filterwarnings("ignore", category=FutureWarning)  # SVC(probability=True), deprecated in scikit-learn 1.9


def main(runs: list[str], n: int = 500) -> None:
    d = load_digits()
    clf = SVC(gamma=0.001, probability=True, random_state=0).fit(d.data, d.target)
    print("| run | steps | minutes | epsilon (delta) | class agreement | SVC confidence | class spread |")
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        model = genart.load(run)
        rows_8x8, labels = samples_8x8(model, n)
        proba = clf.predict_proba(rows_8x8)
        pred = proba.argmax(1)
        counts = np.bincount(pred, minlength=10) / n
        spread = -sum(c * math.log(c) for c in counts if c > 0) / math.log(10)
        agree = f"{(pred == labels).mean():.3f}" if model.classes else "n/a (unconditional)"
        rows = [json.loads(x) for x in (Path(run) / "metrics.jsonl").read_text().splitlines()]
        last = [r for r in rows if "steps_per_s" in r][-1]
        eps = f"{last['dp_epsilon']:.2f} ({last['dp_delta']:.0e})" if "dp_epsilon" in last else "no DP"
        print(f"| {Path(run).name} | {last['step']} | {last['elapsed_s'] / 60:.1f} | {eps} | {agree} | "
              f"{proba.max(1).mean():.3f} | {spread:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
