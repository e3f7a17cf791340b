"""Checking an output's signed provenance: `genart verify`.

c2pa-python reads the manifest and validates it offline (no remote manifests, no OCSP, no timestamp authority): the
claim signature, every assertion's hash and the content hash (the file's bytes outside the manifest). Trust is asked
of c2pa as well, with the trusted roots as its only anchors: first the user's own roots (the local root `genart keys
init` made, roots it replaced, a configured organisation chain's root), then the roots passed with --trust. A file
whose signature and hashes are sound but whose chain leads to none of those is a valid signature by an UNKNOWN
SIGNER, not a tampered file.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genart.io.keys import own_roots, split_pem
from genart.io.signing import LABEL, OFFLINE, c2pa_module, mime_of

VALID, TAMPERED, UNKNOWN, UNSIGNED, INVALID, MISSING = "valid", "TAMPERED", "UNKNOWN SIGNER", "UNSIGNED", "INVALID", \
    "MISSING"
CONTENT = ("dataHash.mismatch", "bmffHash.mismatch", "boxesHash.mismatch", "collectionHash.mismatch")
UNTRUSTED = "signingCredential.untrusted"


@dataclass
class Verdict:
    """What `genart verify` found in one file."""

    file: str
    status: str
    line: str
    signer: str | None = None
    trusted_by: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == VALID

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _failures(results: dict[str, Any] | None) -> list[str]:
    active = (results or {}).get("activeManifest") or {}
    return [f.get("code", "") for f in active.get("failure", [])]


def _read(c2pa: Any, data: bytes, mime: str | None, anchors: list[str]) -> Any:
    settings: dict[str, Any] = {"version": 1, "verify": {**OFFLINE, "verify_trust": True}}
    if anchors:
        settings["trust"] = {"user_anchors": "".join(anchors)}
    return c2pa.Reader(mime, io.BytesIO(data), context=c2pa.Context.from_dict(settings))


def _text_provenance(path: Path) -> tuple[str, dict[str, Any]]:
    """("text chunk" | "sidecar" | "", the provenance found there) for a file genart wrote."""
    side = Path(str(path) + ".json")
    if side.is_file():
        try:
            return "sidecar", json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "sidecar", {}
    if path.suffix.lower() == ".png":
        try:
            from PIL import Image

            with Image.open(path) as img:
                text = dict(getattr(img, "text", {}) or {})
        except OSError:
            return "", {}
        prov = {k.removeprefix("genart:"): v for k, v in text.items() if k.startswith("genart:")}
        return ("text chunk", prov) if prov or "AI-generated" in text else ("", {})
    return "", {}


def _summary(prov: dict[str, Any]) -> str:
    parts = []
    if prov.get("run"):
        parts.append(f"run {prov['run']}")
    if prov.get("checkpoint_sha256") or prov.get("checkpoint"):
        sha = str(prov.get("checkpoint_sha256") or "")[:12]
        parts.append(f"checkpoint {prov.get('checkpoint', '')}{f' (sha256 {sha})' if sha else ''}".replace("  ", " "))
    if prov.get("seed") is not None:  # one image of a batch (generate --individual)
        parts.append(f"seed {prov['seed']}")
    elif prov.get("seeds") is not None:
        parts.append(f"seeds {prov['seeds']}")
    if isinstance(prov.get("training_data_report"), dict):
        parts.append(f"data report sha256 {str(prov['training_data_report'].get('sha256', ''))[:12]}")
    return ", ".join(parts)


def _signer(manifest: dict[str, Any]) -> str:
    info = manifest.get("signature_info") or {}
    who = info.get("common_name") or "unnamed certificate"
    return f"{who} ({info['issuer']})" if info.get("issuer") else who


def verify_file(path: Path, trust: list[Path] | None = None) -> Verdict:
    """Verify one file against the user's own roots and the roots in `trust` (PEM files)."""
    path = Path(path)
    if not path.is_file():
        return Verdict(str(path), MISSING, f"MISSING: {path} is not a file")
    c2pa = c2pa_module()
    where, text_prov = _text_provenance(path)
    kept = f"provenance {where} present" if where else "no provenance text chunk or sidecar"
    mime = mime_of(path)
    if c2pa is None:
        return Verdict(str(path), UNSIGNED, f"UNSIGNED: cannot check without c2pa-python ({kept})", provenance=text_prov)
    if mime is None:
        return Verdict(str(path), UNSIGNED, f"UNSIGNED: genart signs no {path.suffix or 'extensionless'} files ({kept})",
                       provenance=text_prov)
    data = path.read_bytes()
    try:
        reader = _read(c2pa, data, mime, own_roots())
    except c2pa.C2paError as e:
        name = type(e).__name__.lower()
        if "manifestnotfound" in name or "notsupported" in name or "no jumbf" in str(e).lower():
            return Verdict(str(path), UNSIGNED, f"UNSIGNED: no C2PA manifest ({kept})", provenance=text_prov)
        return Verdict(str(path), TAMPERED, f"TAMPERED: the C2PA manifest cannot be read ({e})", failures=[str(e)])
    with reader:
        state, manifest = reader.get_validation_state(), reader.get_active_manifest() or {}
        failures = _failures(reader.get_validation_results())
    prov = next((a.get("data", {}) for a in manifest.get("assertions", []) if a.get("label") == LABEL), {})
    signer = _signer(manifest)
    base = dict(file=str(path), signer=signer, provenance=prov or text_prov, failures=failures)
    content = [f for f in failures if f.endswith(CONTENT)]
    if content:
        return Verdict(**base, status=TAMPERED, line="TAMPERED: content changed after signing")
    others = [f for f in failures if f != UNTRUSTED]
    if others:
        tampered = any("mismatch" in f or "claimSignature" in f for f in others)
        why = "manifest or signature changed after signing" if tampered else "the manifest does not validate"
        return Verdict(**base, status=TAMPERED if tampered else INVALID,
                       line=f"{TAMPERED if tampered else INVALID}: {why} ({', '.join(others)})")
    summary = _summary(prov) or "no genart provenance in the manifest"
    if state == "Trusted":
        return Verdict(**base, status=VALID, trusted_by="local root on this machine",
                       line=f"valid: signed by {signer} (local root on this machine) — {summary}")
    for root in trust or []:
        with _read(c2pa, data, mime, split_pem(Path(root).read_text(encoding="utf-8"))) as again:
            if again.get_validation_state() == "Trusted":
                return Verdict(**base, status=VALID, trusted_by=str(root),
                               line=f"valid: signed by {signer} (trusted root {Path(root).name}) — {summary}")
    return Verdict(**base, status=UNKNOWN,
                   line=f"valid signature, UNKNOWN SIGNER: {signer}; pass --trust ROOT.pem to trust it — {summary}")
