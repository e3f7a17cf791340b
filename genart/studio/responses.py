"""Outputs as HTTP responses, made in memory by genart.io's encoders, each carrying its provenance (in the file
where the format has room for it, and in the X-Genart-Provenance header). Downloads (PNG, GIF, WAV) also carry a
signed C2PA manifest, as files `genart generate` writes do; previews shown in the page are not signed (signing
costs tens of milliseconds per file)."""

from __future__ import annotations

import io
import json
from typing import Any

from fastapi.responses import Response
from PIL import Image

PROVENANCE_HEADER = "X-Genart-Provenance"


def _headers(prov: dict[str, Any], filename: str, download: bool) -> dict[str, str]:
    headers = {PROVENANCE_HEADER: json.dumps(prov, default=str)}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return headers


def _signed(data: bytes, media_type: str, prov: dict[str, Any], filename: str, download: bool) -> Response:
    """The bytes as a response; a download carries a signed C2PA manifest (when signing is on)."""
    if download:
        from genart.io.signing import sign_bytes

        data = sign_bytes(data, media_type, prov, filename)
    return Response(data, media_type=media_type, headers=_headers(prov, filename, download))


def png_response(img: Image.Image, prov: dict[str, Any], filename: str, download: bool) -> Response:
    """A PNG with the provenance in its text chunks (as `genart generate` writes it)."""
    from genart.io.images import png_bytes

    return _signed(png_bytes(img, prov), "image/png", prov, filename, download)


def gif_response(pics: list[Image.Image], fps: int, prov: dict[str, Any], filename: str, download: bool) -> Response:
    """An endless-loop GIF with the provenance as JSON in its comment."""
    buf = io.BytesIO()
    pics[0].save(buf, format="GIF", save_all=True, append_images=pics[1:], duration=round(1000 / fps), loop=0,
                 comment=json.dumps(prov, default=str).encode())
    return _signed(buf.getvalue(), "image/gif", prov, filename, download)


def wav_response(score: Any, prov: dict[str, Any], filename: str, download: bool) -> Response:
    """A piece as a 16-bit WAV, rendered as `genart generate --wav` renders it (genart.io.audio.render_audio: FluidSynth
    with the default General MIDI soundfont, else the built-in synthesiser; provenance, `synthesiser` included, in
    the header)."""
    from genart.io.audio import render_wav_bytes

    data, synth = render_wav_bytes(score)
    return _signed(data, "audio/wav", {**prov, "synthesiser": synth}, filename, download)


def midi_response(score: Any, prov: dict[str, Any], filename: str) -> Response:
    """A piece as a MIDI download with the provenance in a text meta event."""
    from genart.io.midi import midi_bytes

    return Response(midi_bytes(score, prov), media_type="audio/midi", headers=_headers(prov, filename, True))
