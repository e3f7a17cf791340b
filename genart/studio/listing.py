"""The runs and one run's detail: what the page needs to choose its panels (the kind's capabilities) and fill them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from genart.core.errors import GenartError
from genart.core.registry import DENOISE, IMAGES, LATENT
from genart.studio.runs import RunsDep, figures

router = APIRouter()


@router.get("/api/runs")
def list_runs(runs: RunsDep) -> dict[str, Any]:
    from genart.info import run_info

    out = []
    for name, p in runs.dirs().items():
        try:
            facts = run_info(p)
            item = {"name": name, "kind": facts["kind"], "data": facts["data"], "step": facts["step"],
                    "classes": facts.get("classes", []), "figures": figures(p)}
        except GenartError as e:
            item = {"name": name, "kind": "?", "error": e.message}
        out.append(item)
    return {"runs": out}


@router.get("/api/runs/{name}")
def run_detail(name: str, runs: RunsDep) -> dict[str, Any]:
    """The run's facts and capabilities; image runs add their latent size, runs with a denoiser its settings, latent
    runs their directions and evolution sessions."""
    from genart.info import run_info

    p = runs.path(name)
    facts = run_info(p)
    model, lock = runs.model(name)
    detail: dict[str, Any] = {"name": name, "kind": model.kind, "data": facts["data"], "step": model.step,
                              "classes": model.classes, "figures": figures(p),
                              "capabilities": sorted(model.spec.capabilities), "image": model.can(IMAGES)}
    if model.can(IMAGES):
        detail["z_dim"] = model.sampler.z_dim
    if model.can(DENOISE):  # the sampling settings the page starts from, and the size images are fitted to
        c, h, w = model.sampler.shape
        with lock:  # not while a request has its own settings in force
            detail["denoise"] = {**model.sampler.settings(), "channels": c, "height": h, "width": w}
    if model.can(LATENT):
        with lock:
            d = model.directions(8)
        detail.update(method=d.method,
                      directions=[{"index": i, "explained": round(float(e), 4)} for i, e in enumerate(d.explained)],
                      sessions=sorted(s.stem for s in (p / "studio" / "sessions").glob("*.json")))
    return detail
