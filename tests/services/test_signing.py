"""Signed provenance (C2PA): `genart keys init`, signing what genart writes, and `genart verify`'s verdicts (valid,
tampered, unsigned, unknown signer, trusted with --trust). Every test signs with keys in its own GENART_HOME."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import run_cli

c2pa = pytest.importorskip("c2pa")

PROV = {"genart_version": "0.1.0", "run": "tiny", "kind": "gan", "checkpoint": "last.safetensors",
        "checkpoint_sha256": "0123456789abcdef", "seeds": "0-3", "truncation": 0.7, "data_report_sha256": "feedbeef",
        "ai_generated": "true"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh config folder for this test (its CLI subprocesses inherit it)."""
    path = tmp_path / "home"
    monkeypatch.setenv("GENART_HOME", str(path))
    monkeypatch.delenv("GENART_SIGN", raising=False)
    return path


def verify(*args: str | Path) -> tuple[int, str]:
    from genart.io.verify import verify_file

    files = [Path(a) for a in args if not str(a).startswith("--")]
    trust = [Path(files.pop())] if "--trust" in args else []
    verdicts = [verify_file(f, trust) for f in files]
    return (0 if all(v.ok for v in verdicts) else 1), "\n".join(v.line for v in verdicts)


def png(path: Path, prov: dict | None = PROV) -> Path:
    from genart.io.images import save_png

    return save_png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), path, prov)


def flip_pixel_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    i = data.find(b"IDAT") + 4 + 8  # inside the compressed pixel data
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def test_keys_init_makes_a_ca_root_and_a_signing_certificate_with_a_private_key(home: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import ExtendedKeyUsageOID

    rc, out, err = run_cli("keys", "init")
    assert rc == 0, err
    keys = home / "keys"
    assert str(keys) in out
    assert stat.S_IMODE((keys / "signing-key.pem").stat().st_mode) == 0o600
    leaf, root = x509.load_pem_x509_certificates((keys / "signing-chain.pem").read_bytes())
    assert root == x509.load_pem_x509_certificate((keys / "root.pem").read_bytes())
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert root.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    ekus = list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in ekus and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ekus
    assert leaf.issuer == root.subject and leaf.subject != root.subject
    leaf.verify_directly_issued_by(root)
    rc, out, _ = run_cli("keys", "init")
    assert rc == 0 and "already" in out
    old = png(home.parent / "old.png")
    rc, _, _ = run_cli("keys", "init", "--force")
    assert rc == 0 and (keys / "root.pem").read_bytes() != root.public_bytes(Encoding.PEM)
    assert verify(old)[0] == 0  # the replaced root stays trusted on this machine


def test_the_first_signing_makes_a_key_and_says_so_in_one_line(home: Path, capsys: pytest.CaptureFixture) -> None:
    png(home.parent / "a.png")
    png(home.parent / "b.png")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "made a local signing key in" in err and "genart verify trusts it" in err
    assert (home / "keys" / "signing-key.pem").exists()


def test_the_manifest_says_generated_by_a_model_and_carries_the_provenance(home: Path) -> None:
    path = png(home.parent / "a.png")
    reader = c2pa.Reader("image/png", io.BytesIO(path.read_bytes()))
    manifest = reader.get_active_manifest()
    labels = {a["label"]: a["data"] for a in manifest["assertions"]}
    action = labels["c2pa.actions.v2"]["actions"][0]
    assert action["action"] == "c2pa.created"
    assert action["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert manifest["claim_generator_info"][0]["name"] == "genart"
    prov = labels["org.genart.provenance"]
    assert prov["checkpoint_sha256"] == "0123456789abcdef" and prov["seeds"] == "0-3" and prov["truncation"] == 0.7
    assert prov["training_data_report"]["sha256"] == "feedbeef" and prov["ai_generated"] is True
    assert Image.open(path).text["genart:checkpoint_sha256"] == "0123456789abcdef"  # the text chunks stay


def test_verify_a_generated_png_then_tampered_then_stripped_then_unsigned(digits_run: Path, home: Path,
                                                                         tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    rc, _, err = run_cli("generate", digits_run, "--out", out, "--n", "4", "--individual", tmp_path / "each")
    assert rc == 0, err
    rc, stdout, err = run_cli("verify", out, tmp_path / "each" / "seed-000002.png")
    assert rc == 0, stdout + err
    assert stdout.count("valid: signed by") == 2 and "(local root on this machine)" in stdout
    assert "seeds 0-3" in stdout and "checkpoint last.safetensors" in stdout and "seed 2" in stdout

    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(out.read_bytes())
    flip_pixel_byte(tampered)
    rc, stdout, _ = run_cli("verify", tampered)
    assert rc == 1 and stdout.startswith("TAMPERED: content changed after signing")

    stripped = tmp_path / "stripped.png"
    Image.open(out).save(stripped)  # the same pixels, re-saved: no manifest (and no text chunks)
    rc, stdout, _ = run_cli("verify", stripped, "--json")
    assert rc == 1 and json.loads(stdout)["status"] == "UNSIGNED"

    unsigned = tmp_path / "unsigned.png"
    rc, _, err = run_cli("--no-sign", "generate", digits_run, "--out", unsigned, "--n", "4")
    assert rc == 0, err
    rc, stdout, _ = run_cli("verify", unsigned)
    assert rc == 1 and "UNSIGNED: no C2PA manifest (provenance text chunk present)" in stdout


def test_an_animation_is_signed_and_verified(digits_run: Path, home: Path, tmp_path: Path) -> None:
    rc, _, err = run_cli("interpolate", digits_run, "--out", tmp_path / "walk.gif", "--frames", "4", "--keys", "2")
    assert rc == 0, err
    from genart.io.images import save_animation

    save_animation(torch.rand(3, 3, 16, 16) * 2 - 1, tmp_path / "walk.mp4", fps=4, provenance=PROV, min_side=32)
    rc, text = verify(tmp_path / "walk.gif", tmp_path / "walk.mp4")
    assert rc == 0, text
    assert (tmp_path / "walk.gif.json").exists()  # the sidecar stays


def test_a_wav_is_signed_and_a_changed_sample_is_caught(home: Path, tmp_path: Path) -> None:
    from genart.io.audio import write_wav

    path = write_wav(np.sin(np.linspace(0, 200, 4410)).astype(np.float32) * 0.5, tmp_path / "a.wav", provenance=PROV)
    rc, text = verify(path)
    assert rc == 0 and text.startswith("valid: signed by"), text
    data = bytearray(path.read_bytes())
    data[data.find(b"data") + 8 + 2000] ^= 0x01  # one sample
    path.write_bytes(bytes(data))
    rc, text = verify(path)
    assert rc == 1 and text.startswith("TAMPERED")


def test_another_key_is_an_unknown_signer_until_its_root_is_trusted(home: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other-home"
    monkeypatch.setenv("GENART_HOME", str(other))
    theirs = png(tmp_path / "theirs.png")
    monkeypatch.setenv("GENART_HOME", str(home))
    png(tmp_path / "mine.png")  # makes this home's own key
    rc, text = verify(theirs)
    assert rc == 1 and text.startswith("valid signature, UNKNOWN SIGNER:") and "--trust" in text
    rc, stdout, _ = run_cli("verify", theirs, "--trust", other / "keys" / "root.pem")
    assert rc == 0 and "valid: signed by" in stdout and "trusted root root.pem" in stdout
    rc, stdout, _ = run_cli("verify", tmp_path / "mine.png", theirs)
    assert rc == 1 and "UNKNOWN SIGNER" in stdout and "local root on this machine" in stdout


def test_an_organisation_key_from_the_environment_signs_instead(home: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from genart.io.keys import make_chain

    chain, key, _ = make_chain()
    (tmp_path / "org.pem").write_text(chain)
    (tmp_path / "org.key").write_text(key)
    monkeypatch.setenv("GENART_SIGNING_KEY", str(tmp_path / "org.key"))
    monkeypatch.setenv("GENART_SIGNING_CERTS", str(tmp_path / "org.pem"))
    path = png(tmp_path / "a.png")
    assert not (home / "keys").exists()  # no local key was made
    assert verify(path)[0] == 0  # the configured chain's root is the user's own
    monkeypatch.delenv("GENART_SIGNING_KEY")
    monkeypatch.delenv("GENART_SIGNING_CERTS")
    assert "UNKNOWN SIGNER" in verify(path)[1]


def test_without_c2pa_outputs_are_written_unsigned_and_that_is_said_once(home: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture) -> None:
    import sys

    from genart.io import signing

    monkeypatch.setitem(sys.modules, "c2pa", None)  # import c2pa now raises ImportError
    monkeypatch.setattr(signing, "_STATE", {})
    png(tmp_path / "a.png")
    png(tmp_path / "b.png")
    err = capsys.readouterr().err
    assert err.count("outputs are written unsigned") == 1
    assert Image.open(tmp_path / "b.png").text["genart:run"] == "tiny"
    monkeypatch.setattr(signing, "_STATE", {})
    monkeypatch.delitem(sys.modules, "c2pa")
    assert verify(tmp_path / "b.png")[1].startswith("UNSIGNED")


def test_no_sign_and_outputs_without_provenance_are_not_signed(home: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    png(tmp_path / "real.png", prov=None)  # e.g. evaluate's real.png: real data is not claimed as generated
    monkeypatch.setenv("GENART_SIGN", "0")
    png(tmp_path / "off.png")
    for name in ("real.png", "off.png"):
        rc, text = verify(tmp_path / name)
        assert rc == 1 and text.startswith("UNSIGNED"), text
    assert not (home / "keys").exists()
