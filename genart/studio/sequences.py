"""Text endpoints (kinds with SEQUENCE and TEXT): texts from a primer, and a span of a text written anew (infilling,
runs trained with --fim). Music (AUDIO) lives in genart.studio.music."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from genart.studio.limits import TextBody, TextInfillBody
from genart.studio.runs import MAKES_SEQUENCES, MAKES_TEXT, RunsDep

router = APIRouter()


@router.post("/api/runs/{name}/text")
def text(name: str, body: TextBody, runs: RunsDep) -> dict[str, Any]:
    model, lock = runs.model(name, MAKES_SEQUENCES, MAKES_TEXT)
    with lock:
        texts = model.sampler.generate(n=body.n, prime=body.prime or None, length=body.length,
                                       temperature=body.temperature, seed=body.seed)
    prov = model.provenance(seed=body.seed, prime=body.prime, temperature=body.temperature, length=body.length)
    return {"texts": texts, "provenance": prov}


def _split(text: str, before: str, after: str) -> tuple[int, int]:
    """Where the new middle of `text` starts and ends (the sampler may normalise the sides it was given)."""
    start = 0
    while start < min(len(text), len(before)) and text[start] == before[start]:
        start += 1
    k = 0
    while k < min(len(after), len(text) - start) and text[-1 - k] == after[-1 - k]:
        k += 1
    return start, len(text) - k


@router.post("/api/runs/{name}/text/infill")
def text_infill(name: str, body: TextInfillBody, runs: RunsDep) -> dict[str, Any]:
    """`before` + a new middle + `after`, n times (seeds seed..seed+n-1); each with where its middle lies. A run
    trained with --fim 0 answers with its own one-line error (400)."""
    model, lock = runs.model(name, MAKES_SEQUENCES, MAKES_TEXT)
    if not callable(getattr(model.sampler, "infill", None)):
        from genart.studio.errors import StudioError

        raise StudioError(400, f"{name} is a {model.kind} run: it cannot fill a gap", "use a text run trained with --fim")
    with lock:
        texts = model.sampler.infill(body.before, body.after, n=body.n, length=body.length,
                                     temperature=body.temperature, seed=body.seed)
    prov = model.provenance(seed=body.seed, temperature=body.temperature, length=body.length, infill=True)
    spans = [_split(t, body.before, body.after) for t in texts]
    return {"texts": texts, "middles": [[a, b] for a, b in spans], "provenance": prov}
