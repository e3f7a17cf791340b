"""`genart train KIND`: one command per registered kind, built from the fields of the kind's config class.

Each field declared with `genart.core.config.option` becomes `--field-name` with the field's type, default and help
(booleans become `--name/--no-name`, or the two spellings a field's flag gives, e.g.
`--respect-opt-out/--ignore-opt-out`; fields marked `unset` show no default and are filled in by the config). The
command builds the config and hands it to the one training loop; it has no logic of its own.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genart.core.config import TrainConfig
from genart.core.registry import KindSpec

SHARED = {f.name for f in dataclasses.fields(TrainConfig)}


def _option_fields(config: type[TrainConfig]) -> list[dataclasses.Field]:
    """The config's command-line fields: the kind's own first, then those every kind shares (as the help lists them)."""
    fields = [f for f in dataclasses.fields(config) if f.metadata.get("cli", True) and f.name != "data"]
    return [f for f in fields if f.name not in SHARED] + [f for f in fields if f.name in SHARED]


def _parameter(f: dataclasses.Field, hints: dict[str, Any]) -> inspect.Parameter:
    typ = hints[f.name]
    flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
    negative = "" if "/" in flag else f"/--no-{f.name.replace('_', '-')}"  # flag="--on/--off" spells both
    decls = [flag + negative] if typ is bool else [flag]
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    if f.metadata.get("unset"):
        typ, default = Optional[typ], None  # noqa: UP045 - typer needs the typing form
    option = typer.Option(*decls, help=f.metadata.get("help", ""))
    return inspect.Parameter(_param_name(f.name), inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[typ, option])


def _param_name(field_name: str) -> str:
    return f"{field_name}_" if field_name in ("compile", "format", "type", "input") else field_name


def train_command(spec: KindSpec, run_training: Any) -> Any:
    """The `genart train NAME` function for a kind: typer reads its signature; `run_training(cfg, out, fresh)` trains."""
    config = spec.config
    hints = typing.get_type_hints(config)
    fields = _option_fields(config)
    params = [
        inspect.Parameter("data", inspect.Parameter.KEYWORD_ONLY,
                          annotation=Annotated[str, typer.Option("--data", help=spec.data_help)]),
        inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[
            Path, typer.Option("--out", help="The run directory (created, or resumed if it exists).")]),
        *(_parameter(f, hints) for f in fields),
        inspect.Parameter("fresh", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option("--fresh", help="Delete an existing run at --out and start over.")]),
    ]

    def command(**kwargs: Any) -> None:
        out, fresh = kwargs.pop("out"), kwargs.pop("fresh")
        values: dict[str, Any] = {"data": kwargs.pop("data")}
        for f in fields:
            value = kwargs.pop(_param_name(f.name))
            if value is None and f.metadata.get("unset"):
                continue  # not given: the config's own default ("" or 0) stands for "fill it in"
            values[f.name] = value
        run_training(config(**values), out, fresh)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = spec.summary
    command.__name__ = f"train_{spec.name}"
    return command


def add_train_commands(app: typer.Typer, kinds: dict[str, KindSpec], run_training: Any) -> None:
    for name, spec in kinds.items():
        app.command(name, help=spec.summary)(train_command(spec, run_training))
