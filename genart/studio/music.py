"""Music endpoints (kinds with AUDIO): a piece as WAV, MIDI or piano-roll JSON, and what the music panel may offer.

Stateless and deterministic: a piece is its parameters (seed, bars, temperature, primer notes) plus an ordered list
of infill edits, `infills=5-8:3,2-3:11` (bars 5-8 written anew with seed 3, then bars 2-3 with seed 11, each on the
result of the one before; runs whose sampler can infill, trained with --fim), or, for kinds with a latent space
and attribute vectors (MORPH: the music VAE), attribute edits `edits=density:+1.5,range:-1` (the sliders). The
same parameters give the same piece from music.wav, music.mid and music.json alike."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from genart.core.registry import AUDIO, LATENT, MORPH, SEQUENCE
from genart.studio.errors import StudioError
from genart.studio.limits import MAX_BAR, MAX_INFILLS, MAX_SEED, AttrEdits, Bars, Infills, Notes, Seed, Temp
from genart.studio.responses import midi_response, wav_response
from genart.studio.runs import Need, Runs, RunsDep

router = APIRouter()
PLAYS_MUSIC = Need((AUDIO,), ", not a music run")
INFILL_HINT = "write FIRST-LAST:SEED, e.g. 5-8:3 (bars counted from 1)"


def parse_infills(text: str) -> list[tuple[int, int, int]]:
    """`5-8:3,2-3:11` to [(5, 8, 3), (2, 3, 11)]: bars first..last (from 1, inclusive) regenerated with a seed."""
    out = []
    for part in (p for p in text.split(",") if p.strip()):
        try:
            span, seed = part.split(":")
            first, last = (int(x) for x in span.split("-"))
            s = int(seed)
        except ValueError:
            raise StudioError(422, f"infill {part!r} is not FIRST-LAST:SEED", INFILL_HINT) from None
        if not 1 <= first <= last <= MAX_BAR:
            raise StudioError(422, f"infill {part}: bars {first}-{last} are not a range of bars", INFILL_HINT)
        if s > MAX_SEED:
            raise StudioError(422, f"infill {part}: seed {s} is too large", f"use seeds from 0 to {MAX_SEED}")
        out.append((first, last, s))
    if len(out) > MAX_INFILLS:
        raise StudioError(422, f"{len(out)} infills is too many", f"regenerate at most {MAX_INFILLS} spans of one piece")
    return out


def can_infill(model: Any) -> bool:
    """Whether the run's sampler can regenerate bars: it has `infill` and was trained with --fim above 0."""
    sampler = model.sampler
    return (model.can(SEQUENCE) and callable(getattr(sampler, "infill", None))
            and float(getattr(getattr(sampler, "cfg", None), "fim", 0.0) or 0.0) > 0)


def attribute_names(model: Any) -> list[str]:
    """The attribute vectors the run holds (the sliders), for kinds that can MORPH."""
    return sorted(getattr(model.sampler, "attributes", None) or {}) if model.can(MORPH) else []


def make_piece(runs: Runs, name: str, seed: int, bars: int, temperature: float, notes: str, infills: str = "",
               edits: str = "") -> tuple[Any, dict[str, Any], list[tuple[int, int, int]]]:
    """The piece (a symusic Score) the parameters define, its provenance, and the spans infilled."""
    model, lock = runs.model(name, PLAYS_MUSIC)
    spans = parse_infills(infills)
    if spans and not callable(getattr(model.sampler, "infill", None)):
        raise StudioError(400, f"{name} is a {model.kind} run: it cannot regenerate bars",
                          "use a music run trained with --fim (e.g. --fim 0.5)")
    if model.can(SEQUENCE):
        if edits:
            raise StudioError(400, f"{name} is a {model.kind} run: it has no attribute vectors",
                              "attribute sliders need a run that can morph (a music VAE)")
        with lock:  # a run trained with --fim 0 answers the infill with its own ConfigError (a clean 400)
            score = model.sampler.generate(n=1, bars=bars, primer_notes=notes or None, temperature=temperature,
                                           seed=seed)[0].score
            for first, last, s in spans:
                score = model.sampler.infill(score, first, last, seeds=[s], temperature=temperature)[0].score
        prov = model.provenance(seed=seed, bars=bars, temperature=temperature, primer_notes=notes or None,
                                infills=infills or None)
    elif model.can(LATENT):  # one window from the prior, moved along the attribute vectors
        with lock:
            score = model.sampler.generate(n=1, seed=seed, temperature=temperature,
                                           edits=[edits] if edits else None)[0].score
        prov = model.provenance(seed=seed, temperature=temperature, edits=edits or None)
    else:
        raise StudioError(400, f"{name} is a {model.kind} run: the studio cannot make music with it", "")
    return score, prov, spans


@router.get("/api/runs/{name}/music-info")
def music_info(name: str, runs: RunsDep) -> dict[str, Any]:
    """What the music panel offers for this run: infilling, attribute sliders, evolution, fixed length."""
    model, _ = runs.model(name, PLAYS_MUSIC)
    fixed = None if model.can(SEQUENCE) else getattr(model.sampler, "bars", None)
    return {"infill": can_infill(model), "attributes": attribute_names(model), "evolve": model.can(LATENT),
            "bars": fixed}


@router.get("/api/runs/{name}/music.json")
def music_json(name: str, runs: RunsDep, seed: Seed = 0, bars: Bars = 8, temperature: Temp = 0.9, notes: Notes = "",
               infills: Infills = "", edits: AttrEdits = "") -> dict[str, Any]:
    """The piece as a piano roll for the page's canvas (genart.io.pianoroll.roll_json), with its provenance, its
    length in bars and the spans infilled."""
    from genart.io.pianoroll import bars_of, roll_json

    score, prov, spans = make_piece(runs, name, seed, bars, temperature, notes, infills, edits)
    return {**roll_json(score), "bar_count": bars_of(score), "infilled": [list(s) for s in spans], "provenance": prov}


@router.get("/api/runs/{name}/music.wav")
def music_wav(name: str, runs: RunsDep, seed: Seed = 0, bars: Bars = 8, temperature: Temp = 0.9, notes: Notes = "",
              infills: Infills = "", edits: AttrEdits = "", download: bool = False) -> Response:
    score, prov, _ = make_piece(runs, name, seed, bars, temperature, notes, infills, edits)
    return wav_response(score, prov, f"{name}-{seed}.wav", download)


@router.get("/api/runs/{name}/music.mid")
def music_mid(name: str, runs: RunsDep, seed: Seed = 0, bars: Bars = 8, temperature: Temp = 0.9, notes: Notes = "",
              infills: Infills = "", edits: AttrEdits = "") -> Response:
    score, prov, _ = make_piece(runs, name, seed, bars, temperature, notes, infills, edits)
    return midi_response(score, prov, f"{name}-{seed}.mid")
