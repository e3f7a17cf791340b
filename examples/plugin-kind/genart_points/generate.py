"""`genart generate` for points runs: the points as CSV (with a JSON provenance sidecar) or as a scatter PNG (with
provenance in its text chunks). Point k comes from seed k, so --seeds picks out the same points again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.core.errors import ConfigError
from genart.core.files import atomic_path
from genart.core.seeds import seed_text
from genart.io.images import write_sidecar
from genart_points.draw import scatter_png

DEFAULT_N = 1000
FORMATS = (".csv", ".png")


def parse_temperature(text: str | None) -> float:
    if text is None:
        return 1.0
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--temperature {text!r} is not a number", "use e.g. 0.5 (tighter) or 1 (as trained)") from None


def write_csv(path: Path, points: Any, seeds: list[int], components: Any) -> Path:
    lines = ["x,y,seed,component"] + [f"{float(x):.6g},{float(y):.6g},{s},{int(k)}"
                                      for (x, y), s, k in zip(points.tolist(), seeds, components.tolist(), strict=True)]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def generate_points(model: Any, o: Any) -> str:
    """`genart generate` for points runs: `model` is a genart.api.Model, `o` a genart.generate.GenerateOptions."""
    if o.out is None or o.out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out {o.out} should end in .csv or .png" if o.out else "--out is required for points runs",
                          "name it e.g. points.csv (the points) or points.png (a scatter plot)")
    seeds = o.seed_list(DEFAULT_N, "points")
    temperature = parse_temperature(o.temperature)
    points, components = model.sampler.sample(seeds, temperature)
    prov = model.provenance(seeds=seed_text(seeds), temperature=temperature, points=len(seeds))
    if o.out.suffix.lower() == ".csv":
        write_csv(o.out, points, seeds, components)
        sidecar = write_sidecar(o.out, prov)
        return f"wrote {o.out} ({len(seeds)} points, seeds {seed_text(seeds)}) and {sidecar.name}"
    title = f"{model.run.name}, {len(seeds)} points"
    scatter_png([(title, points.numpy())], model.sampler.bounds, o.out, prov)
    return f"wrote {o.out} (a scatter plot of {len(seeds)} points, seeds {seed_text(seeds)})"
