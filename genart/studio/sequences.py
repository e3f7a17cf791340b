"""Sequence endpoints (kinds with SEQUENCE): text (with TEXT) from a primer, music (with AUDIO) as WAV or MIDI."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from genart.studio.limits import Bars, Notes, Seed, Temp, TextBody
from genart.studio.responses import midi_response, wav_response
from genart.studio.runs import MAKES_MUSIC, MAKES_SEQUENCES, MAKES_TEXT, Runs, RunsDep

router = APIRouter()


@router.post("/api/runs/{name}/text")
def text(name: str, body: TextBody, runs: RunsDep) -> dict[str, Any]:
    model, lock = runs.model(name, MAKES_SEQUENCES, MAKES_TEXT)
    with lock:
        texts = model.sampler.generate(n=body.n, prime=body.prime or None, length=body.length,
                                       temperature=body.temperature, seed=body.seed)
    prov = model.provenance(seed=body.seed, prime=body.prime, temperature=body.temperature, length=body.length)
    return {"texts": texts, "provenance": prov}


def piece(runs: Runs, name: str, seed: int, bars: int, temperature: float, notes: str) -> tuple[Any, dict[str, Any]]:
    """One piece and its provenance (the same seed and settings always give the same piece)."""
    model, lock = runs.model(name, MAKES_SEQUENCES, MAKES_MUSIC)
    with lock:
        p = model.sampler.generate(n=1, bars=bars, primer_notes=notes or None, temperature=temperature, seed=seed)[0]
    prov = model.provenance(seed=seed, bars=bars, temperature=temperature, primer_notes=notes or None)
    return p, prov


@router.get("/api/runs/{name}/music.wav")
def music_wav(name: str, runs: RunsDep, seed: Seed = 0, bars: Bars = 8, temperature: Temp = 0.9, notes: Notes = "",
              download: bool = False) -> Response:
    p, prov = piece(runs, name, seed, bars, temperature, notes)
    return wav_response(p.score, prov, f"{name}-{seed}.wav", download)


@router.get("/api/runs/{name}/music.mid")
def music_mid(name: str, runs: RunsDep, seed: Seed = 0, bars: Bars = 8, temperature: Temp = 0.9,
              notes: Notes = "") -> Response:
    p, prov = piece(runs, name, seed, bars, temperature, notes)
    return midi_response(p.score, prov, f"{name}-{seed}.mid")
