"""The run directory: configs and their differences, atomic writes, checkpoints, resume, the NaN guard."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import torch
from conftest import quiet_console, train_tiny
from torch import nn

import genart
from genart.core.checkpoints import checkpoint_info, load_checkpoint, save_checkpoint
from genart.core.config import BUDGET_FIELDS
from genart.core.errors import ConfigError, RunError, TrainingDiverged
from genart.core.files import atomic_path, read_json, write_json
from genart.core.registry import config_class
from genart.core.rundir import RunDir, prepare_run
from genart.kinds.gan.config import GANConfig
from genart.train import Trainer

# --- configs -----------------------------------------------------------------------------------------


def test_config_round_trips_through_json() -> None:
    cfg = GANConfig(data="builtin:digits", size=16, arch="mlp", lr_g=1e-3, steps=5)
    cfg.validate()
    again = config_class("gan").from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.z_dim == 100


def test_config_differences_ignore_the_budget() -> None:
    a = GANConfig(data="builtin:digits", steps=10, minutes=1.0, save_every=60.0, log_every=10, device="auto")
    b = GANConfig(data="builtin:digits", steps=20, minutes=None, save_every=0.5, log_every=5, device="cpu")
    assert {"steps", "minutes", "save_every", "log_every", "device"} <= BUDGET_FIELDS
    assert a.differences(b) == []
    c = GANConfig(data="builtin:digits", lr_g=1e-3, width=32)
    diffs = a.differences(c)
    assert len(diffs) == 2
    assert any(d.startswith("lr_g:") and "0.0002" in d and "0.001" in d for d in diffs)
    assert any(d.startswith("width:") for d in diffs)


def test_unknown_config_keys_are_errors() -> None:
    with pytest.raises(ConfigError, match="unknown gan option"):
        GANConfig.from_dict({"data": "x", "learning_rate": 1})
    with pytest.raises(ConfigError, match="unknown kind"):
        config_class("sculpture")


@pytest.mark.parametrize("options,fragment", [
    ({"size": 12}, "--size 12"), ({"size": 512}, "--size 512"), ({"batch": 0}, "--batch"),
    ({"fit": "zoom"}, "--fit"), ({"arch": "vit"}, "--arch"), ({"ema": 1.0}, "--ema"), ({"lr_g": -1.0}, "--lr-g"),
    ({"data": ""}, "no training data"),
])
def test_invalid_configs_name_the_option(options: dict, fragment: str) -> None:
    cfg = GANConfig(**{"data": "builtin:digits", **options})
    with pytest.raises(ConfigError) as err:
        cfg.validate()
    assert fragment in err.value.message and "\n" not in err.value.message and err.value.hint


# --- atomic writes ------------------------------------------------------------------------------------


def test_atomic_writes_leave_no_temp_files(tmp_path: Path) -> None:
    for i in range(5):
        write_json(tmp_path / "a.json", {"i": i})
    save_checkpoint(tmp_path / "ck" / "last.safetensors", {"w": torch.ones(3)}, {"step": 1})
    assert read_json(tmp_path / "a.json") == {"i": 4}
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.json", "ck", "last.safetensors"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"v": 2, "half')
        raise RuntimeError("killed mid-write")
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_atomic_writes_have_ordinary_permissions(tmp_path: Path) -> None:
    """Outputs are shared files: not the 0600 of a temporary file."""
    write_json(tmp_path / "a.json", {})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o666 & ~umask


# --- checkpoints -------------------------------------------------------------------------------------


def _trained_adam(seed: int = 0) -> tuple[nn.Module, torch.optim.Adam]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.9))
    for _ in range(3):
        loss = model(torch.randn(6, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, opt


def test_checkpoint_round_trip_with_optimizer_state(tmp_path: Path) -> None:
    model, opt = _trained_adam()
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "extra": {"names": ["a", "b"], "n": 3}}
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, state, {"step": 3, "elapsed": 1.5})
    loaded, info = load_checkpoint(path)
    assert info == {"step": 3, "elapsed": 1.5} and checkpoint_info(path) == info
    assert loaded["extra"] == {"names": ["a", "b"], "n": 3}
    for k, v in model.state_dict().items():
        assert torch.equal(loaded["model"][k], v), k
    saved_opt = opt.state_dict()
    # JSON has no tuples: betas come back as a list, which Adam reads the same way
    assert loaded["opt"]["param_groups"] == json.loads(json.dumps(saved_opt["param_groups"]))
    assert sorted(loaded["opt"]["state"]) == sorted(saved_opt["state"])
    for i, s in saved_opt["state"].items():
        for k in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(loaded["opt"]["state"][i][k], s[k]), (i, k)

    # a restored optimizer continues exactly as the original would have
    model2, opt2 = _trained_adam(seed=1)
    model2.load_state_dict(loaded["model"])
    opt2.load_state_dict(loaded["opt"])
    x = torch.randn(6, 4)
    for m, o in ((model, opt), (model2, opt2)):
        loss = m(x).pow(2).mean()
        o.zero_grad()
        loss.backward()
        o.step()
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_broken_checkpoints_are_run_errors(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="missing"):
        load_checkpoint(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 40)
    with pytest.raises(RunError, match="unreadable"):
        load_checkpoint(bad)
    with pytest.raises(RunError, match="unreadable"):
        checkpoint_info(bad)


def test_gan_checkpoint_holds_everything_to_resume(digits_run: Path) -> None:
    state, info = load_checkpoint(digits_run / "checkpoints" / "last.safetensors")
    assert info["step"] == 20 and info["kind"] == "gan" and info["elapsed"] > 0
    assert set(state) == {"model", "rng"}
    assert set(state["model"]) >= {"G", "D", "G_ema", "opt_g", "opt_d"}
    assert set(state["rng"]) >= {"torch", "data"}
    for opt in ("opt_g", "opt_d"):
        moments = state["model"][opt]["state"]
        assert moments and all({"exp_avg", "exp_avg_sq", "step"} <= set(s) for s in moments.values())
        assert all(float(s["step"]) == 20 for s in moments.values())


# --- the run directory -------------------------------------------------------------------------------


def test_run_directory_layout(digits_run: Path) -> None:
    for name in ("config.json", "data.json", "metrics.jsonl", "metrics.png", "MODEL_CARD.md",
                 "checkpoints/last.safetensors"):
        assert (digits_run / name).is_file(), name
    raw = read_json(digits_run / "config.json")
    assert raw["kind"] == "gan" and raw["genart_version"] == genart.__version__
    assert raw["resolved"]["channels"] == 1 and len(raw["resolved"]["classes"]) == 10
    run = RunDir.open(digits_run)
    assert run.config.size == 8 and run.config.width == 8
    assert [r["step"] for r in run.metrics()] == [5, 10, 15, 20]


def test_prepare_run_refuses_other_options_and_strangers(tmp_path: Path, digits_run: Path) -> None:
    same = RunDir.open(digits_run).config
    run, resuming = prepare_run(digits_run, same)
    assert resuming and run.path == digits_run
    other = GANConfig(**{**same.to_dict(), "lr_g": 1e-3})
    with pytest.raises(RunError) as err:
        prepare_run(digits_run, other)
    assert "lr_g" in err.value.message and "--fresh" in err.value.hint

    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match="is a file"):
        prepare_run(tmp_path / "file", same)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_text("x")
    with pytest.raises(RunError, match="not a genart run"):
        prepare_run(tmp_path / "photos", same)
    with pytest.raises(RunError, match="no run at"):
        RunDir.open(tmp_path / "nothing")
    with pytest.raises(RunError, match="config.json is missing"):
        RunDir.open(tmp_path / "photos")


def test_metrics_survive_a_partial_last_line(tmp_path: Path) -> None:
    run = RunDir(path=tmp_path, config=GANConfig(data="x"))
    run.append_metrics([{"step": 5, "loss": 1.0}, {"step": 10, "loss": 0.9}])
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 15, "lo')  # killed mid-line
    assert [r["step"] for r in run.metrics()] == [5, 10]
    run.truncate_metrics(5)
    assert [r["step"] for r in run.metrics()] == [5]


# --- training in-process: resume and the NaN guard ---------------------------------------------------


def test_divergence_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    run = train_tiny(tmp_path / "run", steps=10, save_every=1e6)
    before = load_checkpoint(run / "checkpoints" / "last.safetensors")[0]
    cfg = GANConfig(**{**RunDir.open(run).config.to_dict(), "steps": 30})
    trainer = Trainer(cfg, run, console=quiet_console())
    assert trainer.resuming and trainer.step == 10
    for opt in (trainer.model.opt_g, trainer.model.opt_d):  # make the next steps blow up
        for group in opt.param_groups:
            group["lr"] = 1e30
    with pytest.raises(TrainingDiverged, match="diverged"):
        trainer.fit()
    state, info = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert info["step"] == 10
    for net in ("G", "D", "G_ema"):
        for k, v in state["model"][net].items():
            assert torch.isfinite(v.float()).all(), (net, k)
            assert torch.equal(v, before["model"][net][k]), (net, k)
    model = genart.load(str(run))
    assert model.step == 10 and torch.isfinite(model.generate_tensor(n=2)).all()


def test_checkpoint_every_keeps_numbered_checkpoints(tmp_path: Path) -> None:
    run = train_tiny(tmp_path / "run", steps=10, checkpoint_every=5, arch="mlp")
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == ["last.safetensors", "previous.safetensors", "step-0000005.safetensors", "step-0000010.safetensors"]
    early = genart.load(str(run), checkpoint="step-0000005")
    assert early.step == 5 and genart.load(str(run)).step == 10
    assert not torch.equal(early.generate_tensor(n=2), genart.load(str(run)).generate_tensor(n=2))
    with pytest.raises(RunError, match="no checkpoint best"):
        genart.load(str(run), checkpoint="best")


def test_restart_without_a_checkpoint_does_not_duplicate_metrics(tmp_path: Path) -> None:
    """A run killed before its first checkpoint has logged rows; starting it again must not log those steps twice."""
    run = train_tiny(tmp_path / "run", steps=10, arch="mlp")
    for p in (run / "checkpoints").iterdir():  # the state of a run killed before its first save
        p.unlink()
    train_tiny(run, steps=10, arch="mlp")
    steps = [r["step"] for r in RunDir.open(run).metrics() if "loss_d" in r]
    assert steps == [5, 10]
