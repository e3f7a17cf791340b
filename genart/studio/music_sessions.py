"""Music evolution sessions (kinds with AUDIO and LATENT, e.g. the music VAE): start, breed from likes and dislikes,
play a member. Thin over genart.evolve: the same sessions as images (RUN/studio/sessions/), under their own URLs
(/music-sessions/); every member is decoded with the session's seed, as `genart evolve` does for music, so only its
latent differs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import Response

from genart.core.registry import AUDIO, LATENT
from genart.studio.errors import StudioError
from genart.studio.limits import EvolveBody, MusicStartBody
from genart.studio.responses import wav_response
from genart.studio.runs import Need, RunsDep
from genart.studio.session_store import load_session, open_session_run, saved_session

router = APIRouter()
NEEDS = (Need((AUDIO, LATENT), "; this needs a music run with a latent space (e.g. a music VAE)"),)


def music_session_json(s: Any) -> dict[str, Any]:
    from genart.evolve import numbering

    text = numbering(s).replace("images", "pieces").replace(" left to right, top to bottom", "")
    return {"name": s.name, "generation": s.generation, "step": round(s.step, 4), "numbering": text,
            "members": [{"index": i, "origin": m.origin, "id": m.id} for i, m in enumerate(s.population)],
            "history": s.history}


def _load(model: Any, session: str) -> Any:
    from genart.evolve import Session

    s = load_session(Session, model, session)
    if s.population and len(s.population[0].z) != model.sampler.z_dim:
        raise StudioError(400, f"session {session!r} has latents of size {len(s.population[0].z)}, this run "
                          f"{model.sampler.z_dim}", "start a new session for this run")
    return s


@router.get("/api/runs/{name}/music-sessions/{session}")
def get_music_session(name: str, session: str, runs: RunsDep) -> dict[str, Any]:
    model, _ = open_session_run(runs, name, session, NEEDS)
    return music_session_json(_load(model, session))


@router.post("/api/runs/{name}/music-sessions/{session}/start")
def start_music(name: str, session: str, runs: RunsDep,
                body: MusicStartBody = Body(default_factory=MusicStartBody)) -> dict[str, Any]:
    from genart.evolve import start_session

    model, lock = open_session_run(runs, name, session, NEEDS)
    return music_session_json(saved_session(model, lock, lambda: start_session(model, session, body.n, body.seed)))


@router.post("/api/runs/{name}/music-sessions/{session}/evolve")
def evolve_music(name: str, session: str, body: EvolveBody, runs: RunsDep) -> dict[str, Any]:
    from genart.evolve import evolve

    model, lock = open_session_run(runs, name, session, NEEDS)
    s = saved_session(model, lock, lambda: _load(model, session), lambda s: evolve(s, body.like, body.dislike))
    return music_session_json(s)


def _member(runs: Any, name: str, session: str, index: int) -> tuple[Any, dict[str, Any], str]:
    model, lock = open_session_run(runs, name, session, NEEDS)
    s = _load(model, session)
    if not 0 <= index < len(s.population):
        raise StudioError(404, f"piece {index} is not in generation {s.generation}", f"use 0 to {len(s.population) - 1}")
    z, _ = s.latents()
    with lock:
        score = model.sampler.decode(z[index:index + 1], seeds=[s.seed])[0]
    prov = model.provenance(session=session, generation=s.generation, member=index, origin=s.population[index].origin,
                            step_size=round(s.step, 4))
    return score, prov, f"{name}-{session}-g{s.generation}-{index}"


@router.get("/api/runs/{name}/music-sessions/{session}/{index}.wav")
def member_wav(name: str, session: str, index: int, runs: RunsDep, download: bool = False) -> Response:
    score, prov, stem = _member(runs, name, session, index)
    return wav_response(score, prov, stem + ".wav", download)


@router.get("/api/runs/{name}/music-sessions/{session}/{index}.json")
def member_json(name: str, session: str, index: int, runs: RunsDep) -> dict[str, Any]:
    from genart.io.pianoroll import bars_of, roll_json

    score, prov, _ = _member(runs, name, session, index)
    return {**roll_json(score), "bar_count": bars_of(score), "infilled": [], "provenance": prov}
