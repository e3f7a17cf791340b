"""What an image's own metadata says about its use: AI-training opt-outs, and rights notices.

- Opt-outs: the IPTC / PLUS `DataMining` property in XMP (`plus:DataMining`, namespace
  http://ns.useplus.org/ldf/xmp/1.0/) with a prohibiting value of the PLUS vocabulary (every
  `http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED...` value: all AI/ML training, generative AI/ML training, all but
  search-engine indexing, or "see constraint / rights expression", which genart cannot read and so honours;
  `DMI-ALLOWED` and `DMI-UNSPECIFIED` are not opt-outs), and a C2PA training-mining assertion whose training uses
  are `notAllowed` (genart.data.c2pa_wishes).
- Rights notices: EXIF Copyright and Artist; XMP dc:rights, xmpRights:UsageTerms, xmpRights:WebStatement and
  cc:license.

XMP packets come from Pillow (PNG iTXt `XML:com.adobe.xmp`, JPEG APP1, WebP, TIFF tag 700) and are parsed with
xml.etree only when at most MAX_XMP bytes and free of any DOCTYPE or ENTITY declaration (so no entity expansion);
otherwise, or when the packet is not well-formed, a prohibiting DataMining value is still found by a bounded search.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from genart.data.c2pa_wishes import denied, training_wishes

MAX_XMP = 2_000_000  # bytes of XMP parsed as XML, at most
MAX_VALUE = 200  # characters kept of a rights notice
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
VOCAB = "http://ns.useplus.org/ldf/vocab/"
RIGHTS_FIELDS = {  # XMP properties whose values are rights notices or licences, by their names in reports
    "{http://purl.org/dc/elements/1.1/}rights": "XMP dc:rights",
    "{http://ns.adobe.com/xap/1.0/rights/}UsageTerms": "XMP xmpRights:UsageTerms",
    "{http://ns.adobe.com/xap/1.0/rights/}WebStatement": "XMP xmpRights:WebStatement",
    "{http://creativecommons.org/ns#}license": "XMP cc:license",
}
DATA_MINING = f"{{{PLUS}}}DataMining"
EXIF_FIELDS = {33432: "EXIF Copyright", 315: "EXIF Artist"}
UNSAFE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
PROHIBITED = re.compile(rb"DataMining.{0,400}?(DMI-PROHIBITED[A-Z-]*)", re.DOTALL)


@dataclass
class Wishes:
    """An image's opt-out (None: none found) and the rights notices it carries ("EXIF Copyright: (c) Jane")."""

    opt_out: str | None = None
    rights: list[str] = field(default_factory=list)


def xmp_packet(img: Any) -> bytes | None:
    """The XMP packet of an opened PIL image, as bytes, or None."""
    info = getattr(img, "info", {}) or {}
    packet = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if packet is None and hasattr(img, "tag_v2"):
        packet = img.tag_v2.get(700)
    if packet is None:
        return None
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    if isinstance(packet, (tuple, list)):  # some TIFF writers store it as a sequence of bytes
        packet = bytes(packet)
    return bytes(packet) if isinstance(packet, (bytes, bytearray)) else None


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    v = str(v)
    if any("\x80" <= ch <= "\xff" for ch in v):  # EXIF "ASCII" text is often UTF-8 that Pillow read as Latin-1
        with contextlib.suppress(UnicodeError):
            v = v.encode("latin-1").decode("utf-8")
    text = " / ".join(p.strip() for p in str(v).split("\x00") if p.strip())
    return " ".join(text.split())[:MAX_VALUE]


def _values(el: ET.Element) -> list[str]:
    """The value(s) of an XMP property element: an rdf:resource, its text, or its rdf:Alt / Seq / Bag items (the
    x-default or first item of an Alt)."""
    if f"{{{RDF}}}resource" in el.attrib:
        return [el.attrib[f"{{{RDF}}}resource"]]
    items = [li for li in el.iter(f"{{{RDF}}}li")]
    if items:
        alt = el.find(f"{{{RDF}}}Alt")
        if alt is not None:
            best = [li for li in items if li.attrib.get("{http://www.w3.org/XML/1998/namespace}lang") == "x-default"]
            items = (best or items)[:1]
        return [li.text or li.attrib.get(f"{{{RDF}}}resource", "") for li in items]
    return [el.text or ""]


def read_xmp(packet: bytes) -> tuple[list[str], list[str]]:
    """The packet's DataMining values and its rights notices ("XMP dc:rights: ...")."""
    packet = packet.strip(b"\x00 \t\r\n")
    if len(packet) > MAX_XMP or UNSAFE.search(packet):
        return _search(packet), []
    try:
        root = ET.fromstring(packet)
    except ET.ParseError:
        return _search(packet), []
    mining, rights = [], []
    for el in root.iter():
        for key, value in el.attrib.items():  # properties written as attributes of rdf:Description
            if key == DATA_MINING:
                mining.append(value)
            elif key in RIGHTS_FIELDS:
                rights.append(f"{RIGHTS_FIELDS[key]}: {_text(value)}")
        if el.tag == DATA_MINING:
            mining += _values(el)
        elif el.tag in RIGHTS_FIELDS:
            rights += [f"{RIGHTS_FIELDS[el.tag]}: {_text(v)}" for v in _values(el) if _text(v)]
    return [m.strip() for m in mining], rights


def _search(packet: bytes) -> list[str]:
    """DataMining values found without parsing (a packet too large, unsafe or broken to parse)."""
    return [m.group(1).decode() for m in PROHIBITED.finditer(packet[:50_000_000])]


def prohibits(value: str) -> bool:
    """Whether a plus:DataMining value forbids AI training (every DMI-PROHIBITED... value of the PLUS vocabulary)."""
    name = value.strip().rsplit("/", 1)[-1].upper()
    return name.startswith("DMI-PROHIBITED")


def image_wishes(img: Any, raw: bytes | None) -> Wishes:
    """An opened PIL image's opt-out and rights notices; `raw` (the file's bytes) is searched for C2PA manifests."""
    wishes = Wishes()
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 - broken EXIF is no reason to skip an image
        exif = {}
    for tag, name in EXIF_FIELDS.items():
        value = _text(exif.get(tag, "")) if exif else ""
        if value:
            wishes.rights.append(f"{name}: {value}")
    packet = xmp_packet(img)
    reasons = []
    if packet:
        mining, rights = read_xmp(packet)
        wishes.rights += rights
        bad = [m for m in mining if prohibits(m)]
        if bad:
            reasons.append(f"XMP plus:DataMining {bad[0].rsplit('/', 1)[-1]}")
    if raw is not None:
        fmt = getattr(img, "format", None)
        mime = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "TIFF": "image/tiff",
                "GIF": "image/gif", "BMP": "image/bmp"}.get(fmt or "")
        no = denied(training_wishes(raw, mime))
        if no:
            reasons.append(f"C2PA training-mining {', '.join(no)}: notAllowed")
    if reasons:
        wishes.opt_out = "; ".join(reasons)
    return wishes


def count_rights(per_file: list[list[str]], cap: int = 50) -> dict[str, Any]:
    """The rights notices of the files used, counted: {"notices": {notice: files}, "files_with_notices": k, ...},
    the `cap` most frequent notices listed."""
    counts: dict[str, int] = {}
    for notices in per_file:
        for n in dict.fromkeys(notices):
            counts[n] = counts.get(n, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"files_with_notices": sum(1 for n in per_file if n), "files_without": sum(1 for n in per_file if not n),
            "notices": dict(ranked[:cap]), "not_listed": max(0, len(ranked) - cap)}
