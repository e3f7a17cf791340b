"""Evaluation toolkit: the small types every kind's evaluator shares, and the metric primitives.

A kind's evaluator is a function `(EvalContext) -> KindReport` (its registry entry's `evaluate` part, or what its
capabilities give): it loads the run's data (`ctx.training_data()`), generates, measures, writes its pictures into
`ctx.out` (the run's `eval/` folder) and returns its figures, each with the same figure for a floor (real data
against real data) and a ceiling (noise) beside it where those exist, plus an HTML fragment that shows the samples.

- `distances.py`: Fréchet distance, KID, precision/recall, nearest neighbours, the memorisation test
- `features.py`: the feature network the image distances are measured in
- `images.py`: every image figure of a run (any kind with the IMAGES capability)
- `text.py`: text statistics (distinct-n, n-gram novelty, longest copied substring), also used for music
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from genart.core.errors import DataError, GenartError


@dataclass
class Figure:
    """One measured quantity for the model, with the floor and ceiling figures beside it (None: not applicable)."""

    key: str  # machine name, e.g. "fid"
    label: str  # what a person reads, e.g. "Fréchet distance (genart features)"
    model: float | None
    floor: float | None = None
    ceiling: float | None = None
    better: str = "lower"  # "lower", "higher" or "" (neither: a property, not a score)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalContext:
    """What an evaluator gets: the loaded model, the options, and where to write its pictures."""

    model: Any  # genart.api.Model
    n: int | None  # how many samples (None: the kind's default)
    seed: int
    out: Path  # the run's eval/ folder
    console: Console
    features: Path | None = None  # images: a feature network file to use instead of training one
    feature_steps: int | None = None  # images: training steps of the run's own feature network (None: default)
    length: int | None = None  # sequences: length of each sample (None: the kind's default)
    load_data: Any = None  # () -> the run's training data, as the kind loads it (set by genart.evaluate)
    _data: Any = None

    @property
    def run(self) -> Any:
        return self.model.run

    def training_data(self) -> Any:
        """The run's training data, reloaded once as it was for training; a clear error when it is gone."""
        if self._data is None:
            try:
                self._data = self.load_data()
            except GenartError as e:
                raise DataError(f"evaluate needs the run's training data: {e.message}",
                                f"make {self.run.config.data} available again as it was for training") from None
        return self._data


@dataclass
class KindReport:
    """What an evaluator returns: column names, figures, kind-specific details (JSON) and an HTML fragment."""

    columns: dict[str, str]  # {"model": ..., "floor": ..., "ceiling": ...}: what each column compares
    figures: list[Figure]
    details: dict[str, Any] = field(default_factory=dict)
    html: str = ""  # pictures, samples and notes shown beside the table in evaluation.html
    data: dict[str, Any] = field(default_factory=dict)  # the data evaluated against (source, counts, hash)
    pictures: list[str] = field(default_factory=list)  # files written under eval/, relative to the run


def data_facts(run: Any, report: dict[str, Any], count: int) -> dict[str, Any]:
    """Source, counts and content hash of the data now, and whether it still matches what the run trained on."""
    trained = run.data_report()
    facts = {"source": report.get("source", run.config.data), "files": report.get("files"), "used": report.get("used"),
             "skipped": report.get("skipped"), "items": count, "content_hash": report.get("content_hash")}
    if trained.get("content_hash") and report.get("content_hash"):
        facts["matches_training"] = trained["content_hash"] == report["content_hash"]
    return facts


__all__ = ["Figure", "EvalContext", "KindReport", "data_facts"]
