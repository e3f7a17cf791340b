"""Signing keys for C2PA manifests: a local certificate chain of the user's own, or an organisation's.

`genart keys init` makes, under the user's config folder (`$GENART_HOME`, else `$XDG_CONFIG_HOME/genart`, else
`~/.config/genart`), the chain the C2PA certificate profile asks for: a root CA of the user's own (self-signed,
CA:true, keyCertSign) and a signing certificate issued by it (an end entity: digitalSignature, extended key usage
emailProtection, never anyExtendedKeyUsage), ES256 (ECDSA P-256). The root's private key signs the one certificate
and is not kept; the signing key is written readable by the user only (0600). `genart verify` trusts this root on
this machine; after `--force`, the replaced root stays trusted (in `trusted/`), so older files still verify.

An organisation's key and chain are used instead when `GENART_SIGNING_KEY` and `GENART_SIGNING_CERTS` name PEM
files (the chain: signing certificate first, then its issuers). Without either, the first signing makes a local
chain and says so in one line.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from genart.core.errors import ConfigError

KEY_ENV, CERTS_ENV, HOME_ENV = "GENART_SIGNING_KEY", "GENART_SIGNING_CERTS", "GENART_HOME"
KEY_FILE, CHAIN_FILE, ROOT_FILE = "signing-key.pem", "signing-chain.pem", "root.pem"
ROOT_DAYS, SIGNER_DAYS = 20 * 365, 10 * 365
_LOCK = threading.Lock()


def config_home() -> Path:
    """The user's genart config folder."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "genart"


def keys_dir() -> Path:
    return config_home() / "keys"


def trusted_dir() -> Path:
    return config_home() / "trusted"


@dataclass(frozen=True)
class SigningMaterial:
    """What signs: the PEM chain (signing certificate first), the PEM private key, the algorithm, where it came from."""

    chain: str
    key: str
    alg: str
    source: str


def _identity() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    return f"{user}@{socket.gethostname() or 'localhost'}"


def _name(common: str):  # noqa: ANN202 - an x509.Name (cryptography is imported lazily)
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "genart local key")])


def _usage(sign: bool):  # noqa: ANN202
    from cryptography import x509

    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not sign, crl_sign=not sign,
                         encipher_only=False, decipher_only=False)


def make_chain() -> tuple[str, str, str]:
    """A new local root and a signing certificate issued by it: (chain PEM, signing key PEM, root PEM)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    who = _identity()
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"genart local root of {who}")
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=ROOT_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(sign=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(_name(f"genart signer of {who}")).issuer_name(root_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=SIGNER_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(sign=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))

    def pem(cert: x509.Certificate) -> str:
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pem(leaf) + pem(root), key_pem, pem(root)


def _write(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(path, mode)


def keys_init(force: bool = False) -> tuple[Path, bool]:
    """Make the local chain under keys_dir() unless one is there (or replace it with force). Returns (folder, made).

    The files are written into a new folder renamed into place, so a concurrent first signing in another process
    either finds the whole chain or makes its own and keeps whichever landed first."""
    folder = keys_dir()
    with _LOCK:
        if (folder / KEY_FILE).exists() and not force:
            return folder, False
        folder.parent.mkdir(parents=True, exist_ok=True)
        chain, key, root = make_chain()
        tmp = Path(tempfile.mkdtemp(prefix=".keys.tmp-", dir=folder.parent))
        try:
            _write(tmp / KEY_FILE, key, 0o600)
            _write(tmp / CHAIN_FILE, chain, 0o644)
            _write(tmp / ROOT_FILE, root, 0o644)
            os.chmod(tmp, 0o700)
            if folder.exists() and force:
                _retire(folder)
            try:
                os.rename(tmp, folder)
            except OSError:
                if (folder / KEY_FILE).exists():  # another process made one first: use it
                    return folder, False
                raise
            tmp = None  # type: ignore[assignment]
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
    return folder, True


def _retire(folder: Path) -> None:
    """Keep a replaced root trusted (files signed with it still verify here), then move the old chain aside."""
    old_root = folder / ROOT_FILE
    if old_root.exists():
        trusted_dir().mkdir(parents=True, exist_ok=True)
        shutil.copyfile(old_root, trusted_dir() / f"replaced-root-{time.strftime('%Y%m%d-%H%M%S')}.pem")
    shutil.rmtree(folder)


def _alg_of(key_pem: str, where: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{where} is not an unencrypted PEM private key ({e})",
                          "give a PEM key without a passphrase, or unset it to sign with the local key") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in algs:
            return algs[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise ConfigError(f"{where} holds a key C2PA cannot sign with", "use ECDSA P-256/P-384/P-521, Ed25519 or RSA")


def _read(path: str, env: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{env}={path} cannot be read ({e.strerror or e})",
                          f"point {env} at a PEM file, or unset it to sign with the local key") from None


def configured() -> SigningMaterial | None:
    """An organisation's key and chain, when GENART_SIGNING_KEY and GENART_SIGNING_CERTS name them."""
    key_path, certs_path = os.environ.get(KEY_ENV), os.environ.get(CERTS_ENV)
    if not key_path and not certs_path:
        return None
    if not (key_path and certs_path):
        raise ConfigError(f"{KEY_ENV} and {CERTS_ENV} go together",
                          "set both (the private key, and its certificate chain in PEM), or neither")
    key = _read(key_path, KEY_ENV)
    return SigningMaterial(_read(certs_path, CERTS_ENV), key, _alg_of(key, KEY_ENV), f"{key_path} (from {KEY_ENV})")


def signing_material(say=None) -> SigningMaterial:  # noqa: ANN001 - say: a one-line printer, stderr by default
    """The configured key, else the local one (made on first use, saying so in one line)."""
    org = configured()
    if org is not None:
        return org
    folder, made = keys_init()
    if made:
        line = f"made a local signing key in {folder}; genart verify trusts it on this machine"
        (say or (lambda s: print(s, file=sys.stderr)))(line)
    key = (folder / KEY_FILE).read_text(encoding="utf-8")
    return SigningMaterial((folder / CHAIN_FILE).read_text(encoding="utf-8"), key, "es256", str(folder))


def split_pem(text: str) -> list[str]:
    end = "-----END CERTIFICATE-----"
    return [part[part.index("-----BEGIN"):] + end + "\n" for part in text.split(end) if "-----BEGIN" in part]


def own_roots() -> list[str]:
    """The roots this machine's user trusts as their own: the local root, the roots kept in trusted/, and the root of a
    configured organisation chain (its last certificate, when the chain includes it)."""
    roots = []
    for p in [keys_dir() / ROOT_FILE, *sorted(trusted_dir().glob("*.pem"))]:
        if p.is_file():
            roots += split_pem(p.read_text(encoding="utf-8"))
    certs = os.environ.get(CERTS_ENV)
    if certs and Path(certs).expanduser().is_file():
        chain = split_pem(Path(certs).expanduser().read_text(encoding="utf-8"))
        roots += chain[-1:] if len(chain) > 1 else []
    return roots
