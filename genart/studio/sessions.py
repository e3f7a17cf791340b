"""Evolution sessions (kinds with IMAGES and LATENT): start, breed from likes and dislikes, show a member. Sessions
are the only files the studio writes, in RUN/studio/sessions/."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import Response

from genart.studio.denoise import Denoise
from genart.studio.errors import StudioError
from genart.studio.limits import EvolveBody, Size, StartBody
from genart.studio.responses import png_response
from genart.studio.runs import LATENT_IMAGES, MAKES_IMAGES, RunsDep
from genart.studio.session_store import load_session, open_session_run, saved_session

router = APIRouter()
NEEDS = (MAKES_IMAGES, LATENT_IMAGES)


def session_json(s: Any) -> dict[str, Any]:
    from genart.evolve import numbering

    return {"name": s.name, "generation": s.generation, "step": round(s.step, 4), "numbering": numbering(s),
            "members": [{"index": i, "origin": m.origin, "id": m.id} for i, m in enumerate(s.population)],
            "history": s.history}


@router.get("/api/runs/{name}/sessions/{session}")
def get_session(name: str, session: str, runs: RunsDep) -> dict[str, Any]:
    from genart.evolve import Session

    model, _ = open_session_run(runs, name, session, NEEDS)
    return session_json(load_session(Session, model, session))


@router.post("/api/runs/{name}/sessions/{session}/start")
def start(name: str, session: str, runs: RunsDep, body: StartBody = Body(default_factory=StartBody)) -> dict[str, Any]:
    from genart.evolve import start_session

    model, lock = open_session_run(runs, name, session, NEEDS)
    return session_json(saved_session(model, lock, lambda: start_session(model, session, body.n, body.seed,
                                                                          body.truncation, body.cls)))


@router.post("/api/runs/{name}/sessions/{session}/evolve")
def evolve_session(name: str, session: str, body: EvolveBody, runs: RunsDep) -> dict[str, Any]:
    from genart.evolve import Session, evolve

    model, lock = open_session_run(runs, name, session, NEEDS)
    s = saved_session(model, lock, lambda: load_session(Session, model, session, "start it first"),
                      lambda s: evolve(s, body.like, body.dislike, num_classes=len(model.classes)))
    return session_json(s)


@router.get("/api/runs/{name}/sessions/{session}/{index}.png")
def session_image(name: str, session: str, index: int, runs: RunsDep, dn: Denoise, size: Size = 128,
                  download: bool = False) -> Response:
    from genart.evolve import Session
    from genart.io.images import to_pil, upscale

    model, lock = open_session_run(runs, name, session, NEEDS)
    s = Session.load(model.run.path, session)
    if not 0 <= index < len(s.population):
        raise StudioError(404, f"image {index} is not in generation {s.generation}", f"use 0 to {len(s.population) - 1}")
    z, y = s.latents()
    with lock, dn.settings(model) as settings:
        x = model.sampler.render(z[index:index + 1], y[index:index + 1])
    prov = model.provenance(session=session, generation=s.generation, index=index, origin=s.population[index].origin,
                            **settings)
    return png_response(upscale(to_pil(x)[0], size), prov, f"{name}-{session}-g{s.generation}-{index}.png", download)
