"""`genart keys init` and `genart verify`: signed provenance (C2PA). Parses, calls genart.io.keys / genart.io.verify,
prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genart.core.errors import GenartError

SignOption = Annotated[Optional[bool], typer.Option("--sign/--no-sign", help="Sign outputs with a C2PA manifest (default: on; GENART_SIGN=0 turns it off).")]  # noqa: UP045,E501


def apply_sign_option(sign: bool | None) -> None:
    """The root's --sign/--no-sign: a process-wide setting every writer honours."""
    if sign is not None:
        from genart.io.signing import set_signing

        set_signing(sign)


def add_provenance_commands(app: typer.Typer, console: Any) -> None:
    """Register `genart keys ...` and `genart verify` on `app`; `console` prints their lines."""
    keys_app = typer.Typer(no_args_is_help=True, help="Signing keys for the C2PA manifests in genart's outputs.")
    app.add_typer(keys_app, name="keys")

    @keys_app.command("init")
    def keys_init(
        force: Annotated[bool, typer.Option("--force", help="Replace an existing local key (its root stays trusted here).")] = False,  # noqa: E501
    ) -> None:
        """Make a local certificate chain (a root of your own and a signing certificate issued by it) under your config
        folder ($GENART_HOME, else ~/.config/genart); genart verify trusts its root on this machine."""
        from genart.io.keys import CERTS_ENV, CHAIN_FILE, KEY_ENV, KEY_FILE, ROOT_FILE
        from genart.io.keys import keys_init as make_keys

        folder, made = make_keys(force=force)
        if not made:
            console.print(f"a local signing key is already in {folder} (--force replaces it)", highlight=False,
                          soft_wrap=True)
        else:
            console.print(f"made a local signing key in {folder}:\n"
                          f"  {folder / KEY_FILE}  private key (readable by you only)\n"
                          f"  {folder / CHAIN_FILE}  certificate chain (signing certificate, then the root)\n"
                          f"  {folder / ROOT_FILE}  your root: give it to others for genart verify --trust",
                          highlight=False, soft_wrap=True)
        console.print(f"to sign with an organisation's key instead, set {KEY_ENV} and {CERTS_ENV} (PEM files)",
                      highlight=False, soft_wrap=True)

    @app.command()
    def verify(
        files: Annotated[list[Path], typer.Argument(help="Files genart wrote (PNG, GIF, MP4, WAV, ...).")],
        trust: Annotated[Optional[list[Path]], typer.Option("--trust", help="Also trust signatures leading to this root certificate (PEM); repeatable.")] = None,  # noqa: UP045,E501
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per file.")] = False,
    ) -> None:
        """Check each file's signed C2PA manifest (signature, content hash, signer) and say who made it, with what
        run and settings; exit status 0 only when every file is valid and signed by a trusted root."""
        from genart.io.verify import verify_file

        for root in trust or []:
            if not root.is_file() or "-----BEGIN CERTIFICATE-----" not in root.read_text(encoding="utf-8", errors="replace"):
                raise GenartError(f"--trust {root} is not a PEM certificate file",
                                  "pass the signer's root.pem (genart keys init writes it)")
        verdicts = [verify_file(f, trust) for f in files]
        for v in verdicts:
            if as_json:
                print(json.dumps(v.as_dict(), default=str))
            else:
                prefix = f"{v.file}: " if len(files) > 1 else ""
                console.print(prefix + v.line, highlight=False, soft_wrap=True, markup=False)
        if not all(v.ok for v in verdicts):
            sys.exit(1)  # not typer.Exit: the CLI runs click with standalone_mode=False, which returns its code
