"""Text evolution sessions (kinds with SEQUENCE and TEXT): start, breed from likes and dislikes, read. Thin over
genart.evolve_text; sessions are written in RUN/studio/sessions/ as image sessions are, under their own URLs
(/text-sessions/) so that an image session is never read as text, or the reverse."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from genart.studio.limits import EvolveBody, TextStartBody
from genart.studio.runs import MAKES_SEQUENCES, MAKES_TEXT, RunsDep
from genart.studio.session_store import load_session, open_session_run, saved_session

router = APIRouter()
NEEDS = (MAKES_SEQUENCES, MAKES_TEXT)


def text_session_json(model: Any, s: Any) -> dict[str, Any]:
    from genart.evolve_text import numbering

    members = [{"index": i, "id": m.id, "origin": m.origin, "seed": m.seed, "text": m.text, "lineage": s.lineage(i)}
               for i, m in enumerate(s.population)]
    prov = model.provenance(session=s.name, generation=s.generation, prime=s.prime, temperature=s.temperature,
                            length=s.length, tokens=model.sampler.tokens)
    return {"name": s.name, "generation": s.generation, "temperature": s.temperature, "length": s.length,
            "prime": s.prime, "numbering": numbering(s), "members": members, "history": s.history, "provenance": prov}


@router.get("/api/runs/{name}/text-sessions/{session}")
def get_text_session(name: str, session: str, runs: RunsDep) -> dict[str, Any]:
    from genart.evolve_text import TextSession

    model, _ = open_session_run(runs, name, session, NEEDS)
    return text_session_json(model, load_session(TextSession, model, session))


@router.post("/api/runs/{name}/text-sessions/{session}/start")
def start_text(name: str, session: str, runs: RunsDep,
               body: TextStartBody = Body(default_factory=TextStartBody)) -> dict[str, Any]:
    from genart.evolve_text import start_text_session

    model, lock = open_session_run(runs, name, session, NEEDS)
    s = saved_session(model, lock, lambda: start_text_session(model, session, body.n, body.seed, body.length,
                                                              body.temperature, body.prime or None))
    return text_session_json(model, s)


@router.post("/api/runs/{name}/text-sessions/{session}/evolve")
def evolve_text_session(name: str, session: str, body: EvolveBody, runs: RunsDep) -> dict[str, Any]:
    from genart.evolve_text import TextSession, evolve_texts

    model, lock = open_session_run(runs, name, session, NEEDS)
    s = saved_session(model, lock, lambda: load_session(TextSession, model, session, "start it first"),
                      lambda s: evolve_texts(model, s, body.like, body.dislike))
    return text_session_json(model, s)
