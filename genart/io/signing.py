"""Signed provenance: a C2PA manifest (c2pa-python, the Content Authenticity Initiative's library) in every output genart
writes in a format C2PA covers, signed after the text chunks are in, before the file is renamed into place.

The manifest says the work was created by a generative model (`c2pa.actions`: `c2pa.created`, digitalSourceType
trainedAlgorithmicMedia), names genart and its version (claim_generator_info), and carries the output's provenance
(run, checkpoint sha256, seeds, settings, the training data report's hash when given) in an `org.genart.provenance`
assertion. Only outputs with provenance are signed: previews of real data (evaluate's real.png) are not claimed as
generated. Everything stays offline: no timestamp authority, no remote manifests, no OCSP.

Signing is on unless `GENART_SIGN=0` (`genart --no-sign ...` sets it for the whole process). Without c2pa-python,
files are written unsigned and that is said once.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from genart.core.errors import ConfigError
from genart.core.version import __version__

SIGN_ENV = "GENART_SIGN"
LABEL = "org.genart.provenance"
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
        ".mp4": "video/mp4", ".mov": "video/quicktime", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac",
        ".tif": "image/tiff", ".tiff": "image/tiff", ".avif": "image/avif", ".heic": "image/heic", ".pdf": "application/pdf",
        ".svg": "image/svg+xml", ".m4a": "audio/mp4"}
DATA_KEYS = ("data_report_sha256", "data_sha256", "data_hash", "data_report_hash")  # the training data report's hash
OFFLINE = {"remote_manifest_fetch": False, "ocsp_fetch": False}
_STATE: dict[str, Any] = {}
_LOCK = threading.Lock()


def signing_enabled() -> bool:
    """Whether outputs are signed in this process (GENART_SIGN, default on)."""
    return os.environ.get(SIGN_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def set_signing(on: bool) -> None:
    """Turn signing on or off for this process and the processes it starts."""
    os.environ[SIGN_ENV] = "1" if on else "0"


def mime_of(path: Path | str) -> str | None:
    return MIME.get(Path(path).suffix.lower())


def c2pa_module() -> Any | None:
    """c2pa, or None (said once) when it cannot be imported."""
    if "c2pa" not in _STATE:
        try:
            import c2pa
        except (ImportError, OSError) as e:  # OSError: the native library would not load
            c2pa = None
            print(f"c2pa-python is not available ({e}): outputs are written unsigned "
                  "(pip install c2pa-python to sign them)", file=sys.stderr)
        _STATE["c2pa"] = c2pa
    return _STATE["c2pa"]


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def manifest(provenance: dict[str, Any], title: str | None = None) -> dict[str, Any]:
    """The manifest definition for one output."""
    prov = _jsonable(provenance)
    data = {"genart_version": __version__, "ai_generated": True, **{k: v for k, v in prov.items() if k != "ai_generated"}}
    found = next((prov[k] for k in DATA_KEYS if prov.get(k)), None)
    if found is not None:
        data["training_data_report"] = {"file": "data.json", "sha256": found}
    out: dict[str, Any] = {
        "claim_generator_info": [{"name": "genart", "version": __version__}],
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": TRAINED,
                "softwareAgent": {"name": "genart", "version": __version__},
                "description": "created by a generative model trained with genart"}]}},
            {"label": LABEL, "data": data},
        ],
    }
    if title:
        out["title"] = title
    return out


def _signing_setup() -> tuple[Any, Any]:
    """(c2pa module, signing context, material), made once per process and per configuration."""
    from genart.io.keys import CERTS_ENV, HOME_ENV, KEY_ENV, signing_material

    c2pa = c2pa_module()
    if c2pa is None:
        return None, None
    key = tuple(os.environ.get(k, "") for k in (KEY_ENV, CERTS_ENV, HOME_ENV, "XDG_CONFIG_HOME", "HOME"))
    with _LOCK:
        if _STATE.get("setup_key") != key:
            ctx = c2pa.Context.from_dict({"version": 1, "verify": {**OFFLINE, "verify_after_sign": False},
                                          "builder": {"thumbnail": {"enabled": False}}})
            _STATE.update(setup_key=key, setup=(ctx, signing_material()))
    return c2pa, _STATE["setup"]


def sign_bytes(data: bytes, mime: str, provenance: dict[str, Any], title: str | None = None) -> bytes:
    """`data` (a whole file in format `mime`) with a signed C2PA manifest embedded; unchanged when signing is off,
    c2pa is missing, or the format is not one C2PA covers."""
    if not signing_enabled():
        return data
    c2pa, setup = _signing_setup()
    if c2pa is None or mime not in _supported(c2pa):
        return data
    ctx, material = setup
    out = io.BytesIO()
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(material.alg, material.chain.encode(), material.key.encode(),
                                                           None))
        with c2pa.Builder(manifest(provenance, title), ctx) as builder:
            builder.sign(signer, mime, io.BytesIO(data), out)
    except c2pa.C2paError as e:
        raise ConfigError(f"cannot sign the output with the key in {material.source}: {e}",
                          "check the key and its certificate chain (genart keys init --force makes a new local one), "
                          "or write unsigned with genart --no-sign") from None
    return out.getvalue()


def sign_file(path: Path, provenance: dict[str, Any], mime: str | None = None, title: str | None = None) -> None:
    """Sign the file at `path` in place (a temporary file that is renamed into place afterwards)."""
    mime = mime or mime_of(path)
    if mime is None or not signing_enabled():
        return
    data = Path(path).read_bytes()
    signed = sign_bytes(data, mime, provenance, title)
    if signed is not data:
        Path(path).write_bytes(signed)


def _supported(c2pa: Any) -> set[str]:
    if "mimes" not in _STATE:
        _STATE["mimes"] = set(c2pa.Builder.get_supported_mime_types())
    return _STATE["mimes"]
