"""The contract every registered kind keeps, built-in or plug-in (genart.core.registry.all_kinds()).

For each kind, on the tiny settings and data it publishes as `KindSpec.extras["tiny"]`:

- its config round-trips (to_dict, JSON, from_dict, validate), refuses unknown options, and the `genart train KIND`
  command built from its fields gives the same config;
- it trains a few steps in genart's one loop, and N/2 steps then a resume to N give the same checkpoint (weights,
  optimizer, RNG) as N steps in one go, and the same generated files;
- `genart generate` (genart.generate.run_generate) writes outputs that carry provenance, byte for byte the same for
  the same seed (unsigned: a signature is unique to each signing);
- `genart info` reports the run; `genart evaluate` gives figures, some with a floor and a ceiling.

`extras["tiny"]` is a dict: "config" (config overrides, "data" included; "{dir}" names a scratch folder), "files"
({name: text} written into that folder first), "generate" (GenerateOptions fields; "out" a file name) and
"evaluate" (keyword options of genart.evaluate.evaluate). A built-in kind must publish it; a plug-in that does not
is skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import quiet_console

from genart.core.checkpoints import flatten_state, load_checkpoint
from genart.core.errors import ConfigError
from genart.core.registry import KindSpec, all_kinds

STEPS = 6  # trained in one go, or STEPS // 2 then resumed
PLUGIN_MODULE = "genart_points"  # examples/plugin-kind
LOOP = dict(log_every=2, sample_every=0, save_every=3600.0, device="cpu", threads=1, seed=0)


@pytest.fixture(scope="module", autouse=True)
def genart_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Data a kind converts once (music's chorales) goes to this module's own cache."""
    import os

    old = os.environ.get("GENART_CACHE")
    os.environ["GENART_CACHE"] = str(tmp_path_factory.mktemp("genart-cache"))
    yield
    if old is None:
        os.environ.pop("GENART_CACHE", None)
    else:
        os.environ["GENART_CACHE"] = old


def builtin(spec: KindSpec) -> bool:
    return spec.config.__module__.startswith("genart.")


def tiny(spec: KindSpec) -> dict[str, Any]:
    t = spec.extras.get("tiny")
    if not t:
        message = f"kind {spec.name} publishes no extras['tiny'] (tiny settings and data for tests)"
        if builtin(spec):
            pytest.fail(message)
        pytest.skip(message)
    return t


def tiny_config(spec: KindSpec, folder: Path, **options: Any) -> Any:
    """The kind's config on its tiny settings, its files written into `folder` first."""
    t = tiny(spec)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in t.get("files", {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    values = {k: v.replace("{dir}", str(folder)) if isinstance(v, str) else v for k, v in t["config"].items()}
    return spec.config(**{**values, **options})


def kinds() -> list[Any]:
    return [pytest.param(name, id=name) for name in sorted(all_kinds())]


def test_the_example_plugin_kind_is_registered_without_a_demo_section() -> None:
    if importlib.util.find_spec(PLUGIN_MODULE) is None:
        pytest.skip("examples/plugin-kind is not installed, so the contract leaves the plug-in kind out "
                    "(make install installs it; or pip install -e examples/plugin-kind)")
    spec = all_kinds().get("points")
    assert spec is not None, "genart_points is importable but its entry point did not register the points kind"
    assert spec.config.__module__.startswith(PLUGIN_MODULE) and spec.demo == ()


@pytest.mark.parametrize("name", kinds())
def test_config_round_trips_and_the_cli_builds_the_same_config(name: str, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from genart.cli_train import add_train_commands

    spec = all_kinds()[name]
    assert spec.config.kind == name
    cfg = tiny_config(spec, tmp_path / "data", **LOOP, steps=STEPS)
    cfg.validate()
    d = cfg.to_dict()
    again = spec.config.from_dict(json.loads(json.dumps(d)))  # as config.json keeps it
    again.validate()
    assert again.to_dict() == d and cfg.differences(again) == []
    with pytest.raises(ConfigError, match="unknown"):
        spec.config.from_dict({**d, "no_such_option": 1})
    for f in dataclasses.fields(spec.config):
        assert f.metadata.get("help"), f"{name}: option {f.name} has no help"

    # `genart train NAME --data ... --flag value ...` builds the config the one loop gets
    cli_fields = {f.name: f for f in dataclasses.fields(spec.config) if f.metadata.get("cli", True)}
    given = {k: v for k, v in {**dataclasses.asdict(tiny_config(spec, tmp_path / "data")), **LOOP}.items()
             if k in cli_fields and k != "data" and v is not None}
    args = ["--data", cfg.data, "--out", str(tmp_path / "run")]
    for k, v in given.items():
        flag = cli_fields[k].metadata.get("flag") or "--" + k.replace("_", "-")
        flag, _, negative = flag.partition("/")  # a boolean's flag may spell both: --respect-opt-out/--ignore-opt-out
        args += [flag if v else negative or "--no-" + k.replace("_", "-")] if isinstance(v, bool) else [flag, str(v)]
    built: list[Any] = []
    app = typer.Typer()
    app.callback()(lambda: None)  # a group, so the command keeps its name
    add_train_commands(app, {name: spec}, lambda c, out, fresh: built.append(c))
    result = CliRunner().invoke(app, [name, *args])
    assert result.exit_code == 0, result.output
    assert built[0].to_dict() == spec.config(**given, data=cfg.data).to_dict()


def interrupted(cfg: Any, out: Path, after: int) -> None:
    """Train `cfg` as if Ctrl-C were pressed during step `after`: the loop saves that step and stops. (A shorter
    --steps would not do: a schedule planned over the budget, like a cosine decay, would differ.)"""
    from genart.train import Trainer

    trainer = Trainer(cfg, out, console=quiet_console())
    step = trainer.model.train_step

    def interrupt(s: int) -> Any:
        trainer._interrupted = s == after - 1
        return step(s)

    trainer.model.train_step = interrupt  # type: ignore[method-assign]
    trainer.fit()
    assert load_checkpoint(out / "checkpoints" / "last.safetensors")[1]["step"] == after


def untimed(tree: Any) -> Any:
    """A checkpoint's tree of plain values without the seconds trained ("elapsed"), which no two runs share."""
    if isinstance(tree, dict) and "__dict__" in tree:
        return {k: untimed(v) for k, v in tree["__dict__"] if k != "elapsed"}
    return [untimed(v) for v in tree] if isinstance(tree, list) else tree


def generate_files(run: Path, folder: Path, spec: KindSpec, checkpoint_hash: str | None = None,
                   **options: Any) -> dict[str, bytes]:
    """Run `genart generate` on `run` into an empty `folder`; every file written there, by name."""
    import genart
    from genart.generate import GenerateOptions, run_generate

    model = genart.load(str(run), device="cpu")
    if checkpoint_hash is not None:  # another checkpoint file with the same state: let the provenance name the same one
        model.checkpoint_hash = checkpoint_hash
    g = {**tiny(spec).get("generate", {}), **options}
    folder.mkdir(parents=True)
    if g.get("out"):
        g["out"] = folder / g["out"]
    summary = run_generate(model, GenerateOptions(**g))
    assert summary
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", kinds())
def test_train_resume_generate_info_evaluate(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    # outputs are compared byte for byte: unsigned here (a C2PA manifest is unique to each signing; signing is
    # tested in tests/services/test_signing.py)
    monkeypatch.setenv("GENART_SIGN", "0")

    from genart.cli import app
    from genart.evaluate import evaluate
    from genart.info import run_info
    from genart.train import train

    spec = all_kinds()[name]
    data = tmp_path / "data"
    straight, split = tmp_path / "a" / "run", tmp_path / "b" / "run"  # one name: outputs' provenance names the run
    train(tiny_config(spec, data, **LOOP, steps=STEPS), straight, console=quiet_console())
    interrupted(tiny_config(spec, data, **LOOP, steps=STEPS), split, after=STEPS // 2)
    train(tiny_config(spec, data, **LOOP, steps=STEPS), split, console=quiet_console())  # resumes

    # resumed = uninterrupted: every tensor and value of the checkpoint (weights, optimizer, RNG), and the outputs
    a, info_a = load_checkpoint(straight / "checkpoints" / "last.safetensors")
    b, info_b = load_checkpoint(split / "checkpoints" / "last.safetensors")
    assert info_a["step"] == info_b["step"] == STEPS
    (ta, tree_a), (tb, tree_b) = flatten_state(a), flatten_state(b)
    assert untimed(tree_a) == untimed(tree_b) and ta.keys() == tb.keys()
    different = [k for k in ta if not (ta[k].dtype == tb[k].dtype and ta[k].shape == tb[k].shape and ta[k].equal(tb[k]))]
    assert not different, f"{name}: a resumed run differs from an uninterrupted one in {different[:5]}"

    first = generate_files(straight, tmp_path / "gen-1", spec, seed=3)
    assert first, f"{name}: genart generate wrote no file"
    assert any(b"ai_generated" in v or b"AI-generated" in v for v in first.values()), f"{name}: outputs carry no provenance"
    assert generate_files(straight, tmp_path / "gen-2", spec, seed=3) == first, f"{name}: the same seed gave other outputs"
    import genart

    same_hash = genart.load(str(straight), device="cpu").checkpoint_hash
    assert generate_files(split, tmp_path / "gen-3", spec, checkpoint_hash=same_hash, seed=3) == first

    facts = run_info(straight)
    assert facts["kind"] == name and facts["step"] == STEPS and facts["checkpoint"]
    result = CliRunner().invoke(app, ["info", str(straight), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["kind"] == name

    figures = evaluate(straight, device="cpu", console=quiet_console(), **tiny(spec).get("evaluate", {}))["figures"]
    assert figures and all(f["key"] and f["label"] for f in figures)
    bounded = [f for f in figures if f["floor"] is not None and f["ceiling"] is not None]
    assert bounded, f"{name}: no figure has a floor and a ceiling"
    assert (straight / "evaluation.json").exists() and "## Evaluation" in (straight / "MODEL_CARD.md").read_text()
