"""The points kind's data: built-in point clouds it draws itself, or the user's CSV file, as standardised tensors.

Every run's data is reported the genart way (`data.json`: source, files, what was skipped and why, a content
hash), and the standardisation (mean and scale) is kept in config.json, so a resumed run, `genart generate` and
`genart evaluate` see the points exactly as training did.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genart.core.errors import DataError
from genart_points.config import BUILTINS, PointsConfig

BUILTIN_PREFIX = "builtin:"
DATA_SEED = 20240229  # builtin data sets are the same points for every run, whatever its --seed
MIN_POINTS = 20  # training points needed (after the held-out share)
MAX_BYTES = 256 << 20  # a CSV larger than this is refused before it is read
SHOWN_ROWS = 10  # skipped lines listed in data.json


@dataclass
class PointData:
    """Standardised points ((x - mean) / scale, float32), split into training and held-out points."""

    train: torch.Tensor
    val: torch.Tensor
    mean: list[float]
    scale: float
    bounds: list[list[float]]  # [[x_min, y_min], [x_max, y_max]] of all the points, in the data's units
    report: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.train.shape[0] + self.val.shape[0])


# --- built-in point clouds ------------------------------------------------------------------------------------

def builtin_points(name: str, count: int) -> np.ndarray:
    """`count` points of a built-in cloud, (count, 2) float64, drawn from a fixed seed."""
    rng = np.random.default_rng(DATA_SEED)
    if name == "spiral":  # two interleaved arms, one and a half turns each
        t = np.sqrt(rng.uniform(0.02, 1.0, count))
        arm = rng.integers(0, 2, count)
        angle = 3 * math.pi * t + math.pi * arm
        xy = np.stack([t * np.cos(angle), t * np.sin(angle)], 1) * 3
        return xy + rng.normal(0, 0.06, (count, 2))
    if name == "rings":  # three concentric rings, points in proportion to their length
        radius = rng.choice([1.0, 2.0, 3.0], count, p=[1 / 6, 2 / 6, 3 / 6])
        angle = rng.uniform(0, 2 * math.pi, count)
        return np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1) + rng.normal(0, 0.08, (count, 2))
    if name == "moons":  # scikit-learn's two interleaving half circles
        upper = rng.integers(0, 2, count).astype(bool)
        angle = rng.uniform(0, math.pi, count)
        x = np.where(upper, np.cos(angle), 1 - np.cos(angle))
        y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
        return np.stack([x, y], 1) + rng.normal(0, 0.08, (count, 2))
    raise DataError(f"unknown built-in point cloud {name!r}", f"built-ins: {', '.join(BUILTIN_PREFIX + b for b in BUILTINS)}")


# --- the user's CSV file ---------------------------------------------------------------------------------------

def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _column(spec: str, header: list[str] | None, width: int, path: Path) -> int:
    """A column given by header name or by number from 1, as an index."""
    spec = spec.strip()
    if header is not None and spec in [h.strip() for h in header]:
        return [h.strip() for h in header].index(spec)
    if spec.isdigit() and 1 <= int(spec) <= width:
        return int(spec) - 1
    names = f"its columns: {', '.join(h.strip() for h in header)}" if header else f"it has {width} columns, numbered from 1"
    raise DataError(f"--columns: {path.name} has no column {spec!r}", names)


def read_csv(path: Path, columns: str = "") -> tuple[np.ndarray, dict[str, Any]]:
    """The points of a CSV file, (N, 2) float64, and what was read: lines that are not two finite numbers are
    skipped and reported (line number and reason); a header line is recognised by its not being numbers."""
    hint = "give a CSV file of x,y points (one point per line), or builtin:spiral, builtin:rings, builtin:moons"
    if not path.exists():
        raise DataError(f"no file at {path}", hint)
    if path.is_dir():
        raise DataError(f"{path} is a folder; the points kind reads one CSV file", hint)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise DataError(f"{path} is {size / 2**20:.0f} MB; the points kind reads CSV files up to {MAX_BYTES >> 20} MB",
                        "sample fewer points into a smaller file")
    raw = path.read_bytes()
    if b"\0" in raw[:4096]:
        raise DataError(f"{path} is not a text file (it holds binary data)", "export the points as CSV: one x,y pair per line")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text (byte {e.start} is {raw[e.start:e.start + 1]!r})",
                        "save the file as UTF-8 CSV") from None
    lines = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise DataError(f"{path} holds no points (it is empty, or only comments)", hint)
    try:
        dialect: Any = csv.Sniffer().sniff("\n".join(line for _, line in lines[:50]), delimiters=",;\t ")
    except csv.Error:
        dialect = csv.excel  # one column, or irregular: plain commas, and the rows will say what is wrong
    rows = [(n, row) for (n, _), row in zip(lines, csv.reader([line for _, line in lines], dialect), strict=True)]
    header = None
    first = rows[0][1]
    if any(_number(c) is None for c in first[:2]) or len(first) < 2:
        header, rows = first, rows[1:]
    width = max([len(header or [])] + [len(r) for _, r in rows[:50]])
    if columns:
        a, b = columns.split(",")
        ix, iy = _column(a, header, width, path), _column(b, header, width, path)
    else:
        ix, iy = 0, 1
    need = max(ix, iy) + 1
    points: list[tuple[float, float]] = []
    skipped: list[dict[str, Any]] = []
    for n, row in rows:
        if len(row) < need:
            skipped.append({"line": n, "reason": f"{len(row)} column(s), need {need}"})
            continue
        x, y = _number(row[ix]), _number(row[iy])
        bad = row[ix] if x is None else row[iy] if y is None else None
        if bad is not None:
            skipped.append({"line": n, "reason": f"{bad.strip()[:30]!r} is not a number"})
        elif not (math.isfinite(x) and math.isfinite(y)):  # type: ignore[arg-type]
            skipped.append({"line": n, "reason": "not a finite number (inf or nan)"})
        else:
            points.append((x, y))  # type: ignore[arg-type]
    names = [header[ix].strip(), header[iy].strip()] if header else [f"column {ix + 1}", f"column {iy + 1}"]
    report = {"source": str(path), "files": 1, "used": 1, "skipped": 0, "skipped_files": [], "columns": names,
              "header": header is not None, "skipped_rows": len(skipped), "skipped_rows_shown": skipped[:SHOWN_ROWS],
              "content_hash": hashlib.sha256(raw).hexdigest()[:16]}
    if not points:
        why = f"; line {skipped[0]['line']}: {skipped[0]['reason']}" if skipped else ""
        raise DataError(f"{path} holds no usable point ({len(skipped)} line(s) skipped{why})",
                        "each line should hold two numbers, x and y (pick the columns with --columns)")
    return np.asarray(points, dtype=np.float64), report


# --- the kind's data entry points (KindSpec.data and KindSpec.resolve) -----------------------------------------

def load_points(cfg: PointsConfig, resolved: dict[str, Any]) -> PointData:
    """The run's points, standardised (with the run's own mean and scale when it is resumed) and split."""
    if cfg.data.startswith(BUILTIN_PREFIX):
        name = cfg.data[len(BUILTIN_PREFIX):]
        if cfg.columns:
            raise DataError("--columns is for CSV files", f"leave it out with {cfg.data}")
        xy = builtin_points(name, cfg.points)
        report: dict[str, Any] = {"source": cfg.data, "files": 1, "used": 1, "skipped": 0, "skipped_files": [],
                                  "content_hash": hashlib.sha256(xy.astype(np.float32).tobytes()).hexdigest()[:16]}
    else:
        xy, report = read_csv(Path(cfg.data).expanduser(), cfg.columns)
    n = xy.shape[0]
    n_val = int(n * cfg.val_split)
    if n - n_val < MIN_POINTS:
        raise DataError(f"{report['source']} gives {n - n_val} training points; the points kind needs at least {MIN_POINTS}",
                        "give more points" + (" or a smaller --val-split" if n_val else ""))
    if "mean" in resolved:
        mean, scale = np.asarray(resolved["mean"], dtype=np.float64), float(resolved["scale"])
    else:
        mean = xy.mean(0)
        scale = float(np.sqrt(((xy - mean) ** 2).mean()))  # one scale for both axes keeps the cloud's shape
        if not scale > 0:
            raise DataError(f"all {n} points of {report['source']} are the same point", "give points that differ")
    z = torch.from_numpy((xy - mean) / scale).float()
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed))
    val, train = z[perm[:n_val].sort().values], z[perm[n_val:].sort().values]
    bounds = [xy.min(0).tolist(), xy.max(0).tolist()]
    summary = f"{n:,} points ({n - n_val:,} for training, {n_val:,} held out)"
    if report.get("skipped_rows"):
        first = report["skipped_rows_shown"][0]
        summary += (f"; {report['skipped_rows']} line(s) skipped, e.g. line {first['line']}: {first['reason']} "
                    f"(the first {SHOWN_ROWS} in data.json)")
    report.update(points=n, train_points=n - n_val, val_points=n_val, summary=summary)
    return PointData(train=train, val=val, mean=mean.tolist(), scale=scale, bounds=bounds, report=report)


def resolve_points(data: PointData) -> dict[str, Any]:
    """What config.json keeps: the counts, and the standardisation that generate and evaluate undo."""
    return {"points": len(data), "train_points": int(data.train.shape[0]), "val_points": int(data.val.shape[0]),
            "mean": data.mean, "scale": data.scale, "bounds": data.bounds}
