"""The data's own wishes: AI-training opt-outs in XMP (IPTC/PLUS DataMining) and C2PA (training-mining), paths a
.genartignore excludes, and the rights notices found, all honoured at ingest and stated in the report and card."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from genart.data import c2pa_wishes
from genart.data.files import find_files
from genart.data.ignore import compile_pattern
from genart.data.images import load_folder
from genart.data.optout import prohibits, read_xmp

VOCAB = "http://ns.useplus.org/ldf/vocab/"


def xmp(data_mining: str | None = None, rights: str | None = None, as_element: bool = False) -> str:
    props, body = [], []
    if data_mining:
        if as_element:
            body.append(f"<plus:DataMining rdf:resource=\"{VOCAB}{data_mining}\"/>")
        else:
            props.append(f'plus:DataMining="{VOCAB}{data_mining}"')
    if rights:
        body.append(f'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{rights}</rdf:li></rdf:Alt></dc:rights>')
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" {" ".join(props)}>{"".join(body)}</rdf:Description>'
            '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def picture(seed: int, size: int = 12) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def png_with(path: Path, seed: int, packet: str | None = None, copyright_: str | None = None) -> Path:
    info = PngImagePlugin.PngInfo()
    if packet:
        info.add_itxt("XML:com.adobe.xmp", packet)
    exif = Image.Exif()
    if copyright_:
        exif[33432] = copyright_.encode("utf-8")  # as many cameras write it: UTF-8 in an ASCII field
        exif[315] = "Jane Doe"
    picture(seed).save(path, "PNG", pnginfo=info, exif=exif)
    return path


def c2pa_signed_png(path: Path, seed: int) -> Path:
    """A PNG whose C2PA manifest says its AI training and data mining are notAllowed, signed with a throwaway key
    and certificate chain (a root and a signing certificate issued by it, as C2PA's certificate profile asks)."""
    c2pa = pytest.importorskip("c2pa")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "t")])

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=not sign, crl_sign=not sign,
                             encipher_only=False, decipher_only=False)

    now = datetime.datetime.now(datetime.UTC)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject: str, public: object, ca: bool) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name("test root")).public_key(public)
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=7))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .add_extension(usage(not ca), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))

    root = cert("test root", root_key.public_key(), True).sign(root_key, hashes.SHA256())
    leaf = (cert("test signer", key.public_key(), False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    chain = leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, pem, None))
    manifest = {"claim_generator_info": [{"name": "genart-tests", "version": "1"}], "title": path.name, "assertions": [
        {"label": "c2pa.actions", "data": {"actions": [
            {"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}},
        {"label": "c2pa.training-mining", "data": {"entries": {
            "c2pa.ai_generative_training": {"use": "notAllowed"}, "c2pa.ai_training": {"use": "notAllowed"},
            "c2pa.data_mining": {"use": "notAllowed"}, "c2pa.ai_inference": {"use": "allowed"}}}}]}
    source, out = io.BytesIO(), io.BytesIO()
    picture(seed).save(source, "PNG")
    source.seek(0)
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/png", source, out)
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wishes")
    for i in range(6):
        png_with(root / f"ok-{i}.png", i, copyright_="© Jane Doe 2021" if i < 4 else None)
    png_with(root / "allowed.png", 10, xmp("DMI-ALLOWED", rights="CC BY 4.0"))
    png_with(root / "no-ai.png", 11, xmp("DMI-PROHIBITED-AIMLTRAINING"))
    png_with(root / "no-genai.png", 12, xmp("DMI-PROHIBITED-GENAIMLTRAINING", as_element=True))
    buf = io.BytesIO()
    picture(13).save(buf, "JPEG", xmp=xmp("DMI-PROHIBITED").encode())
    (root / "no-mining.jpg").write_bytes(buf.getvalue())
    c2pa_signed_png(root / "credential.png", 14)
    (root / "private").mkdir()
    png_with(root / "private" / "secret.png", 15)
    png_with(root / "draft-1.png", 16)
    (root / ".genartignore").write_text("# not for training\n/private/\ndraft-*.png\n")
    return root


def test_opted_out_and_ignored_images_are_skipped_and_named(folder: Path) -> None:
    data = load_folder(folder, 8)
    report = data.report
    reasons = {s["file"]: s["reason"] for s in report["skipped_files"]}
    assert len(data) == report["used"] == 7  # ok-0..5 and allowed.png
    assert reasons["no-ai.png"].startswith("opted out: XMP plus:DataMining DMI-PROHIBITED-AIMLTRAINING")
    assert "DMI-PROHIBITED-GENAIMLTRAINING" in reasons["no-genai.png"]
    assert "DMI-PROHIBITED" in reasons["no-mining.jpg"]
    assert reasons["credential.png"].startswith("opted out: C2PA training-mining c2pa.ai_generative_training")
    assert "ignored by .genartignore" in reasons["private/"] and "draft-*.png" in reasons["draft-1.png"]
    assert report["opted_out"] == 4 and report["ignored"] == 2 and report["respect_opt_out"] is True
    rights = report["rights"]
    assert rights["notices"]["EXIF Copyright: © Jane Doe 2021"] == 4
    assert rights["notices"]["EXIF Artist: Jane Doe"] == 4
    assert rights["notices"]["XMP dc:rights: CC BY 4.0"] == 1
    assert rights["files_with_notices"] == 5 and rights["files_without"] == 2


def test_ignore_opt_out_uses_them_and_says_which(folder: Path) -> None:
    report = load_folder(folder, 8, respect_opt_out=False).report
    assert report["used"] == 11 and report["opted_out"] == 0
    assert {u["file"] for u in report["opted_out_used"]} == {"no-ai.png", "no-genai.png", "no-mining.jpg", "credential.png"}


def test_the_small_c2pa_reader_agrees_with_the_library(folder: Path) -> None:
    raw = (folder / "credential.png").read_bytes()
    assert c2pa_wishes.denied(c2pa_wishes._from_boxes(raw)) == ["c2pa.ai_generative_training", "c2pa.ai_training",
                                                                "c2pa.data_mining"]
    assert c2pa_wishes.training_wishes(raw, "image/png") == c2pa_wishes._from_boxes(raw)
    assert c2pa_wishes.training_wishes((folder / "ok-0.png").read_bytes()) == {}


def test_xmp_is_read_safely() -> None:
    assert read_xmp(xmp("DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING").encode())[0][0].endswith("INDEXING")
    assert prohibits(VOCAB + "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING") and prohibits(VOCAB + "DMI-PROHIBITED")
    assert not prohibits(VOCAB + "DMI-ALLOWED") and not prohibits(VOCAB + "DMI-UNSPECIFIED")
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<x plus:DataMining="' + VOCAB + 'DMI-PROHIBITED">&b;</x>').encode()
    mining, rights = read_xmp(bomb)  # never parsed as XML; the prohibition is still found
    assert mining == ["DMI-PROHIBITED"] and rights == []
    assert read_xmp(b"<not xml")[0] == []


@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("*.psd", "a/b/c.psd", True), ("/top.png", "top.png", True), ("/top.png", "a/top.png", False),
    ("a/**/b.png", "a/x/y/b.png", True), ("a/**/b.png", "a/b.png", True), ("**/raw", "x/raw", True),
    ("sub/*.png", "sub/x.png", True), ("sub/*.png", "sub/deeper/x.png", False), ("d?ft[0-9].png", "draft1.png", False),
    ("dr?ft[0-9].png", "draft1.png", True), ("a/**", "a/b/c", True),
])
def test_gitignore_patterns(pattern: str, path: str, hit: bool) -> None:
    assert bool(compile_pattern(pattern)[0].match(path)) is hit


def test_genartignore_negation_and_nested_files(tmp_path: Path) -> None:
    for rel in ("keep.txt", "skip.txt", "notes/a.txt", "notes/b.txt", "raw/x.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / ".genartignore").write_text("*.txt\n!keep.txt\nraw/\n")
    (tmp_path / "notes" / ".genartignore").write_text("!b.txt\n")
    found, skipped, _ = find_files(tmp_path, {".txt"}, "a text")
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["keep.txt", "notes/b.txt"]
    assert {s["file"] for s in skipped} == {"skip.txt", "notes/a.txt", "raw/"}


def test_training_skips_them_and_the_card_says_so(folder: Path, tmp_path: Path, cli) -> None:
    run = tmp_path / "run"
    rc, out, err = cli("train", "gan", "--data", folder, "--out", run, "--size", "8", "--width", "8", "--steps", "3",
                       "--batch", "4", "--sample-every", "0", "--device", "cpu")
    assert rc == 0, err
    assert "opted out: C2PA training-mining" in out + err and "ignored by .genartignore" in out + err
    report = json.loads((run / "data.json").read_text())
    assert report["used"] == 7 and report["opted_out"] == 4
    card = (run / "MODEL_CARD.md").read_text()
    assert "Opt-outs honoured: 4 image(s)" in card and "Excluded by `.genartignore`: 2" in card
    assert "EXIF Copyright: © Jane Doe 2021 (4 files)" in card

    run2 = tmp_path / "run2"
    rc, out, err = cli("train", "gan", "--data", folder, "--out", run2, "--size", "8", "--width", "8", "--steps", "3",
                       "--batch", "4", "--sample-every", "0", "--device", "cpu", "--ignore-opt-out")
    assert rc == 0, err
    assert json.loads((run2 / "data.json").read_text())["used"] == 11
    assert json.loads((run2 / "config.json").read_text())["config"]["respect_opt_out"] is False
    card = (run2 / "MODEL_CARD.md").read_text()
    assert "Opt-outs ignored (--ignore-opt-out)**: 4 image(s)" in card and "`credential.png`" in card
