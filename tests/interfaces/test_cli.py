"""End to end: the real `genart` command line on tiny real runs, in subprocesses."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from conftest import TINY, popen_cli, run_cli, train_tiny
from PIL import Image

import genart
from genart.core.checkpoints import checkpoint_info, load_checkpoint
from genart.core.files import file_hash, read_json
from genart.io.images import grid, read_png_text, upscale

TRAIN = ["train", "gan", "--data", "builtin:digits", *TINY]


def assert_clean_error(rc: int, err: str, *fragments: str) -> str:
    """Exit 2, one 'error:' line (plus an optional hint line), no traceback; returns the error line."""
    assert rc == 2, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, err
    assert all(line.startswith(("error:", "hint:")) for line in lines[lines.index(errors[0]):]), err
    for fragment in fragments:
        assert fragment in errors[0], (fragment, err)
    return errors[0]


def pixels(path: Path) -> bytes:
    with Image.open(path) as img:
        return img.tobytes()


# --- the basics -------------------------------------------------------------------------------------


def test_help_and_version(cli) -> None:
    rc, out, err = cli("--help")
    assert rc == 0 and "train" in out and "generate" in out and "interpolate" in out, err
    rc, out, err = cli("--version")
    assert rc == 0 and out.strip() == f"genart {genart.__version__}", err
    rc, out, err = cli("train", "gan", "--help")
    assert rc == 0 and "--data" in out and "--steps" in out, err


@pytest.mark.parametrize("args", [
    ["train", "gan", "--data", "builtin:digits", "--out", "x", "--size", "abc"],
    ["train", "gan", "--data", "builtin:digits"],
    ["generate", "somewhere", "--out", "g.png", "--bogus"],
    ["sculpt"],
])
def test_usage_errors_exit_2_without_traceback(cli, tmp_path: Path, args: list[str]) -> None:
    rc, out, err = cli(*args, cwd=tmp_path)
    assert "Traceback" not in err and "ModuleNotFoundError" not in err, err
    assert rc == 2, err


# --- one tiny run, end to end -----------------------------------------------------------------------


def test_train_writes_the_run_directory(cli_digits_run) -> None:
    run, result = cli_digits_run
    assert result["rc"] == 0, result["stderr"]
    assert "Traceback" not in result["stderr"]
    assert "1797 files, 1797 used, 0 skipped" in result["stderr"]
    for name in ("config.json", "data.json", "metrics.jsonl", "metrics.png", "MODEL_CARD.md",
                 "checkpoints/last.safetensors"):
        assert (run / name).is_file(), name
    samples = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert samples == ["step-0000010.png", "step-0000020.png"]
    with Image.open(run / "metrics.png") as img:
        assert img.format == "PNG"
    assert checkpoint_info(run / "checkpoints" / "last.safetensors")["step"] == 20
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10, 15, 20]
    assert all(np.isfinite(r["loss_d"]) and np.isfinite(r["loss_g"]) for r in rows)
    card = (run / "MODEL_CARD.md").read_text()
    assert "builtin:digits" in card and "AI-generated" in card
    data = read_json(run / "data.json")
    assert data["used"] == 1797 and data["channels"] == 1
    config = read_json(run / "config.json")
    assert config["config"]["size"] == 8 and config["config"]["labels"] == "auto"


def test_generate_writes_a_grid_with_provenance(cli_digits_run, tmp_path: Path) -> None:
    run, _ = cli_digits_run
    out = tmp_path / "g.png"
    rc, stdout, err = run_cli("generate", run, "--out", out, "--n", "16", "--seed", "7")
    assert rc == 0, err
    text = read_png_text(out)
    assert text["genart:genart_version"] == genart.__version__
    assert text["genart:run"] == run.name
    assert text["genart:checkpoint_sha256"] == file_hash(run / "checkpoints" / "last.safetensors")
    assert text["genart:seeds"] == "7-22"
    assert text["AI-generated"] == "true"
    assert "AI-generated" in text.get("Comment", "")
    # the CLI's grid is exactly the API's images for seeds 7..22
    model = genart.load(str(run))
    assert pixels(out) == upscale(grid(model.generate_tensor(n=16, seed=7))).tobytes()


def test_generate_individual_files_by_seeds_truncation_and_class(cli_digits_run, tmp_path: Path) -> None:
    run, _ = cli_digits_run
    rc, _, err = run_cli("generate", run, "--out", tmp_path / "g.png", "--seeds", "0-15", "--truncation", "0.7",
                         "--class", "3", "--individual", tmp_path / "each")
    assert rc == 0, err
    files = sorted(p.name for p in (tmp_path / "each").iterdir())
    assert files == [f"seed-{s:06d}.png" for s in range(16)]
    text = read_png_text(tmp_path / "g.png")
    assert text["genart:seeds"] == "0-15" and text["genart:truncation"] == "0.7" and text.get("genart:class") == "3"
    model = genart.load(str(run))
    assert pixels(tmp_path / "g.png") == upscale(grid(model.generate_tensor(n=16, seed=0, truncation=0.7, cls_="3"))).tobytes()
    assert pixels(tmp_path / "g.png") != upscale(grid(model.generate_tensor(n=16, seed=0, truncation=0.7))).tobytes()

    expected = model.generate(seeds=[5], truncation=0.7, cls_="3")[0]
    with Image.open(tmp_path / "each" / "seed-000005.png") as img:
        assert img.size == (8, 8) and img.mode == "L"
        got = np.asarray(img, dtype=int)
    assert np.abs(got - np.asarray(expected, dtype=int)).max() <= 1  # same image whatever the batch around it
    text = read_png_text(tmp_path / "each" / "seed-000005.png")
    assert text["genart:seed"] == "5" and text["genart:truncation"] == "0.7" and text["AI-generated"] == "true"


@pytest.mark.parametrize("ext", ["gif", "mp4"])
def test_interpolate_writes_an_animation_and_sidecar(cli_digits_run, tmp_path: Path, ext: str) -> None:
    run, _ = cli_digits_run
    out = tmp_path / f"walk.{ext}"
    rc, stdout, err = run_cli("interpolate", run, "--out", out, "--frames", "8")
    assert rc == 0, err
    frames = iio.imread(out, plugin="pillow" if ext == "gif" else "FFMPEG")
    assert frames.shape[0] == 8 and frames.shape[-1] == 3
    side = read_json(Path(str(out) + ".json"))
    assert side["file"] == out.name and side["frames"] == 8 and side["ai_generated"] == "true"
    assert side["run"] == run.name and side["checkpoint_sha256"] == file_hash(run / "checkpoints" / "last.safetensors")
    assert side["genart_version"] == genart.__version__
    assert not list(tmp_path.glob(".*tmp*"))


def test_info_json(cli_digits_run) -> None:
    run, _ = cli_digits_run
    rc, out, err = run_cli("info", run, "--json")
    assert rc == 0, err
    facts = json.loads(out)
    assert facts["kind"] == "gan" and facts["step"] == 20 and facts["channels"] == 1
    assert facts["config"]["size"] == 8
    assert "1797 used" in facts["data"]


# --- resume ------------------------------------------------------------------------------------------


def test_resume_continues_exactly_like_a_straight_run(tmp_path: Path) -> None:
    """10 steps, then `--steps 20` in a second process (the CLI) == a straight 20-step run with the same seed."""
    opts = dict(precision="fp32", save_every=1e6, sample_every=0, seed=3)  # the CLI's other defaults, as train_tiny's
    resumed = train_tiny(tmp_path / "resumed", steps=10, **opts)
    assert checkpoint_info(resumed / "checkpoints" / "last.safetensors")["step"] == 10
    # a second process, with a changed budget (--steps, and --minutes, unset before): both may change on resume
    rc, _, err = run_cli(*TRAIN, "--out", resumed, "--steps", "20", "--minutes", "30", "--precision", "fp32",
                         "--save-every", "1000000", "--sample-every", "0", "--seed", "3")
    assert rc == 0, err
    assert "resuming from step 10" in err
    straight = train_tiny(tmp_path / "straight", steps=20, **opts)

    (sa, ia), (sb, ib) = (load_checkpoint(r / "checkpoints" / "last.safetensors") for r in (resumed, straight))
    assert ia["step"] == ib["step"] == 20
    for net in ("G", "D", "G_ema"):
        assert sa["model"][net].keys() == sb["model"][net].keys()
        for k, v in sb["model"][net].items():
            assert torch.allclose(sa["model"][net][k].float(), v.float(), rtol=1e-5, atol=1e-6), (net, k)
    for opt in ("opt_g", "opt_d"):
        assert sa["model"][opt]["param_groups"] == sb["model"][opt]["param_groups"]
        assert sa["model"][opt]["state"].keys() == sb["model"][opt]["state"].keys()
        for i, s in sb["model"][opt]["state"].items():
            for k in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.allclose(sa["model"][opt]["state"][i][k], s[k], rtol=1e-5, atol=1e-8), (opt, i, k)
    steps = [json.loads(line)["step"] for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert steps == [5, 10, 15, 20]


def test_a_killed_run_loads_and_resumes(cli, run_dir: Path) -> None:
    run = run_dir
    args = [*TRAIN, "--out", run, "--sample-every", "0", "--save-every", "0.5"]
    proc = popen_cli(*args, "--steps", "100000")
    ckpt = run / "checkpoints" / "last.safetensors"
    deadline = time.monotonic() + 90
    try:
        while not ckpt.exists() and time.monotonic() < deadline:
            try:
                proc.wait(timeout=0.2)
                break  # it ended on its own: a failure, reported below
            except subprocess.TimeoutExpired:
                pass
        assert proc.poll() is None, proc.communicate()[1]
        assert ckpt.exists(), "no checkpoint within the deadline"
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -9

    step = checkpoint_info(ckpt)["step"]
    assert step > 0
    model = genart.load(str(run))
    assert model.step == step and torch.isfinite(model.generate_tensor(n=4)).all()

    rc, _, err = cli(*args, "--steps", str(step + 7))
    assert rc == 0, err
    assert f"resuming from step {step}" in err
    assert checkpoint_info(ckpt)["step"] == step + 7
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == step + 7  # rows after the checkpoint were redone, not doubled


def test_other_options_for_an_existing_run(tmp_path: Path) -> None:
    """A changed learning option is refused, naming it; --fresh starts over. (Budget changes: the resume tests.)"""
    run = train_tiny(tmp_path / "run", steps=10, sample_every=200, log_every=5, save_every=60.0)  # the CLI's defaults
    base = [*TRAIN, "--out", run]

    rc, _, err = run_cli(*base, "--steps", "10", "--lr-g", "0.001")
    line = assert_clean_error(rc, err)
    assert "lr_g" in line or "lr-g" in line
    assert line.count("->") == 1, line  # only the option that changed is named

    rc, _, err = run_cli(*base, "--steps", "5", "--lr-g", "0.001", "--fresh")
    assert rc == 0, err
    assert "resuming" not in err
    assert checkpoint_info(run / "checkpoints" / "last.safetensors")["step"] == 5
    assert read_json(run / "config.json")["config"]["lr_g"] == 0.001


# --- data through the CLI ---------------------------------------------------------------------------


def test_train_on_a_messy_folder(cli, messy_folder, run_dir: Path) -> None:
    root, expected = messy_folder
    run = run_dir
    rc, _, err = cli("train", "gan", "--data", root, "--out", run, "--steps", "4", "--size", "8", "--width", "8",
                         "--batch", "8", "--log-every", "2", "--sample-every", "0", "--device", "cpu")
    assert rc == 0, err
    used, skipped = len(expected["used"]), len(expected["skipped"])
    assert f"{used + skipped} files, {used} used, {skipped} skipped" in err
    for name in expected["skipped"]:
        assert f"skipped {name}:" in err
    data = read_json(run / "data.json")
    assert (data["files"], data["used"], data["skipped"]) == (used + skipped, used, skipped)
    assert sorted(s["file"] for s in data["skipped_files"]) == sorted(expected["skipped"])
    assert all(s["reason"] for s in data["skipped_files"])
    assert not any(".hidden" in s["file"] or ".cache" in s["file"] for s in data["skipped_files"])
    assert read_json(run / "config.json")["resolved"]["channels"] == 4
    model = genart.load(str(run))
    assert tuple(model.generate_tensor(n=2).shape) == (2, 4, 8, 8)


# --- errors: one line, exit 2, no traceback ---------------------------------------------------------


def _error_case(name: str, tmp: Path, uncond: Path) -> tuple[list[str], str]:
    if name == "empty folder":
        (tmp / "empty").mkdir()
        return ["train", "gan", "--data", str(tmp / "empty"), "--out", str(tmp / "r"), *TINY], "no usable image"
    if name == "only broken files":
        (tmp / "broken").mkdir()
        (tmp / "broken" / "a.png").write_text("not an image")
        (tmp / "broken" / "b.jpg").write_bytes(b"")
        (tmp / "broken" / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
        return ["train", "gan", "--data", str(tmp / "broken"), "--out", str(tmp / "r"), *TINY], "no usable image"
    if name == "missing data":
        return ["train", "gan", "--data", str(tmp / "nowhere"), "--out", str(tmp / "r"), *TINY], "does not exist"
    if name == "size 12":
        return [*TRAIN, "--out", str(tmp / "r"), "--size", "12"], "--size 12"
    if name == "size 512":
        return [*TRAIN, "--out", str(tmp / "r"), "--size", "512"], "--size 512"
    if name == "unknown builtin":
        return ["train", "gan", "--data", "builtin:nope", "--out", str(tmp / "r"), *TINY], "nope"
    if name == "not a run":
        (tmp / "photos").mkdir()
        return ["generate", str(tmp / "photos"), "--out", str(tmp / "g.png")], "config.json is missing"
    if name == "class on unconditional run":
        return ["generate", str(uncond), "--out", str(tmp / "g.png"), "--class", "3"], "not trained with classes"
    raise AssertionError(name)


@pytest.mark.parametrize("case", ["empty folder", "only broken files", "missing data", "size 12", "size 512",
                                  "unknown builtin", "not a run", "class on unconditional run"])
def test_errors_are_one_line_exit_2(cli, case: str, tmp_path: Path, uncond_run: Path) -> None:
    args, fragment = _error_case(case, tmp_path, uncond_run)
    rc, out, err = cli(*args)
    assert_clean_error(rc, err, fragment)
    assert not (tmp_path / "g.png").exists()
    assert not (tmp_path / "r").exists()  # a failed train leaves no run folder behind


def test_divergence_stops_with_a_clear_error(cli, run_dir: Path) -> None:
    run = run_dir
    rc, _, err = cli(*TRAIN, "--out", run, "--steps", "40", "--lr-d", "1e30", "--lr-g", "1e30", "--sample-every", "0")
    line = assert_clean_error(rc, err, "diverged")
    assert re.search(r"step \d+", line)
    ckpt = run / "checkpoints" / "last.safetensors"
    if ckpt.exists():
        state, _ = load_checkpoint(ckpt)
        for net in ("G", "D", "G_ema"):
            assert all(torch.isfinite(v.float()).all() for v in state["model"][net].values())


# --- scale out: --compile and fp16 -------------------------------------------------------------------

COMPILE_GAN = ["train", "gan", "--data", "builtin:digits", "--arch", "mlp", "--size", "8", "--batch", "16", "--labels", "none",
               "--augment", "off", "--precision", "fp32", "--log-every", "1", "--sample-every", "0", "--device", "cpu"]


def test_compile_trains_and_saves_plain_checkpoints(cli, tmp_path: Path) -> None:
    """--compile on CPU (Inductor, with gcc): 3 steps, a checkpoint with the plain module keys; it may be turned off
    on resume."""
    run = tmp_path / "run"
    rc, _, err = run_cli(*COMPILE_GAN, "--out", run, "--steps", "3", "--compile", timeout=300)
    assert rc == 0, err
    assert "compiled" in err
    state, info = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert info["step"] == 3
    for net in ("G", "D", "G_ema"):
        assert state["model"][net] and not any("_orig_mod" in k or k.startswith("module.") for k in state["model"][net])
        assert all(torch.isfinite(v.float()).all() for v in state["model"][net].values())
    assert read_json(run / "config.json")["config"]["compile"] is True
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    rc, _, err = run_cli(*COMPILE_GAN, "--out", run, "--steps", "4", "--no-compile")  # a budget option: may change
    assert rc == 0, err
    assert "resuming from step 3" in err and "compiled" not in err
    assert checkpoint_info(run / "checkpoints" / "last.safetensors")["step"] == 4


def test_compile_failure_is_one_line_with_a_hint(tmp_path: Path) -> None:
    """No working C compiler: a one-line error saying to train without --compile, not a traceback."""
    import sys

    from conftest import subprocess_env

    # a fresh Inductor cache, so the compiler is really needed
    env = {**subprocess_env(), "CXX": str(tmp_path / "no-such-compiler"), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "genart", *COMPILE_GAN, "--out", tmp_path / "run", "--steps", "3", "--compile"],
                          capture_output=True, text=True, env=env, timeout=300)
    line = assert_clean_error(proc.returncode, proc.stderr, "--compile failed")
    assert "C++ compiler" in line
    assert "hint: train without --compile" in proc.stderr


def test_fp16_on_cpu_is_refused_before_the_run_folder_exists(cli, tmp_path: Path) -> None:
    for kind in ("gan", "vae"):
        rc, _, err = cli("train", kind, "--data", "builtin:digits", "--out", tmp_path / kind, "--size", "8", "--steps", "2",
                         "--device", "cpu", "--precision", "fp16")
        assert_clean_error(rc, err, "--precision fp16", "CUDA")
        assert "hint:" in err
        assert not (tmp_path / kind).exists()
