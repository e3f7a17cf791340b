"""The points kind, installed as a plug-in: the genart command line end to end, its data (built-in and CSV, with
clear errors), exact resume, seeds, provenance and evaluation.

Run it with the plug-in installed (pip install -e examples/plugin-kind):
    .venv/bin/python -m pytest examples/plugin-kind/tests
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"  # tests share the cores: one thread each, here and in the CLI's processes

import pytest  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402

pytest.importorskip("genart_points", reason="the plug-in is not installed: pip install -e examples/plugin-kind")

from genart_points.config import PointsConfig  # noqa: E402
from genart_points.data import load_points, read_csv  # noqa: E402

from genart.core.checkpoints import load_checkpoint  # noqa: E402
from genart.core.errors import ConfigError, DataError  # noqa: E402
from genart.core.registry import get_kind  # noqa: E402
from genart.train import Trainer, train  # noqa: E402

torch.set_num_threads(1)

FAST = dict(components=8, batch=64, log_every=10, sample_every=0, device="cpu", threads=1)


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def cli(*args: str | Path, cwd: Path | None = None) -> tuple[int, str, str]:
    """`genart ARGS` in a subprocess, as a user types it; returns (returncode, stdout, stderr)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    p = subprocess.run([sys.executable, "-m", "genart", *map(str, args)], capture_output=True, text=True, env=env,
                       cwd=cwd, timeout=300)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def spiral_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 steps on builtin:spiral, in this process."""
    out = tmp_path_factory.mktemp("points") / "spiral"
    train(PointsConfig(data="builtin:spiral", steps=400, **{**FAST, "components": 24, "sample_every": 200}), out,
          console=quiet())
    return out


# --- the command line, as the README walks through it ------------------------------------------------------------

def test_the_cli_trains_generates_reports_and_evaluates(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "rings"
    rc, _, err = cli("train", "points", "--data", "builtin:rings", "--out", run, "--steps", "150", "--components", "12",
                     "--sample-every", "50")
    assert rc == 0, err
    assert "2,000 points (1,800 for training, 200 held out)" in err
    assert sorted(p.name for p in (run / "samples").iterdir()) == [f"step-{s:07d}.png" for s in (50, 100, 150)]
    rc, out, err = cli("generate", run, "--out", tmp_path / "pts.csv", "--n", "100", "--seed", "7")
    assert rc == 0, err
    lines = (tmp_path / "pts.csv").read_text().splitlines()
    assert lines[0] == "x,y,seed,component" and len(lines) == 101 and lines[1].split(",")[2] == "7"
    prov = json.loads((tmp_path / "pts.csv.json").read_text())
    assert prov["ai_generated"] == "true" and prov["kind"] == "points" and prov["seeds"] == "7-106" and prov["step"] == 150
    rc, out, err = cli("generate", run, "--out", tmp_path / "pts.png", "--n", "2000", "--temperature", "0.5")
    assert rc == 0, err
    from genart.io.images import read_png_text

    text = read_png_text(tmp_path / "pts.png")
    assert text["AI-generated"] == "true" and text["genart:run"] == "rings" and text["genart:temperature"] == "0.5"
    rc, out, err = cli("info", run, "--json")
    assert rc == 0, err
    facts = json.loads(out)
    assert facts["kind"] == "points" and facts["step"] == 150 and facts["best_val_loss"] > 0
    rc, out, err = cli("evaluate", run, "--n", "200")
    assert rc == 0, err
    assert "sliced Wasserstein" in out and "real vs real" in out
    result = json.loads((run / "evaluation.json").read_text())
    assert {f["key"] for f in result["figures"]} >= {"val_loss", "sliced_wasserstein", "precision", "recall"}
    assert (run / "eval" / "points.png").exists() and "## Evaluation" in (run / "MODEL_CARD.md").read_text()


def test_cli_errors_are_one_line_with_a_hint(tmp_path: Path) -> None:
    rc, _, err = cli("train", "points", "--data", tmp_path / "missing.csv", "--out", tmp_path / "run", "--steps", "5")
    assert rc == 2 and "error: no file at" in err and "hint:" in err and "Traceback" not in err
    rc, _, err = cli("train", "points", "--data", "builtin:spiral", "--out", tmp_path / "run", "--precision", "bf16")
    assert rc == 2 and "--precision 'bf16' is not one of auto, fp32" in err
    assert not (tmp_path / "run").exists()


# --- data ---------------------------------------------------------------------------------------------------------

def test_builtins_are_fixed_and_standardised() -> None:
    a = load_points(PointsConfig(data="builtin:moons", points=500), {})
    b = load_points(PointsConfig(data="builtin:moons", points=500, seed=1), {})
    assert a.report["content_hash"] == b.report["content_hash"]  # the same points for every run ...
    assert not torch.equal(a.val, b.val)  # ... held out by the run's seed
    z = torch.cat([a.train, a.val])
    assert len(a) == 500 and a.val.shape == (50, 2)
    assert z.mean(0).abs().max() < 1e-5 and abs(float(z.pow(2).mean()) - 1) < 1e-4
    with pytest.raises(DataError, match="unknown built-in point cloud 'stars'"):
        load_points(PointsConfig(data="builtin:stars"), {})


def test_a_messy_csv_is_read_with_its_bad_lines_reported(tmp_path: Path) -> None:
    rows = ["# exported by hand", "id;label;east;north"] + [f"{i};p{i};{i * 0.5};{(i % 7) * 1.5}" for i in range(40)]
    rows[10:10] = ["41;broken;abc;1.0", "42;short", "", "43;inf;inf;2.0"]
    path = tmp_path / "survey.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    xy, report = read_csv(path, "east,north")
    assert xy.shape == (40, 2) and xy[3].tolist() == [1.5, 4.5]
    assert report["columns"] == ["east", "north"] and report["header"] is True and report["skipped_rows"] == 3
    assert [r["line"] for r in report["skipped_rows_shown"]] == [11, 12, 14]
    assert "'abc' is not a number" in report["skipped_rows_shown"][0]["reason"]
    assert read_csv(path, "3,4")[0].tolist() == xy.tolist()  # columns by number from 1
    data = load_points(PointsConfig(data=str(path), columns="east,north"), {})
    assert "3 line(s) skipped, e.g. line 11" in data.report["summary"]
    with pytest.raises(DataError, match="has no column 'up'.*"):
        read_csv(path, "east,up")
    with pytest.raises(DataError, match="no usable point"):
        read_csv(path)  # the first two columns: an id and a label


def test_bad_data_gives_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "few.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "same.csv").write_text("".join("1,2\n" for _ in range(30)))
    (tmp_path / "blob.csv").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (tmp_path / "latin.csv").write_bytes("x,y\ncafé,1\n".encode("latin-1"))
    (tmp_path / "empty.csv").write_text("# nothing\n\n")
    cases = {
        "few.csv": "gives 2 training points; the points kind needs at least 20",
        "same.csv": "are the same point",
        "blob.csv": "not a text file",
        "latin.csv": "not UTF-8 text",
        "empty.csv": "holds no points",
        ".": "is a folder",
    }
    for name, message in cases.items():
        with pytest.raises(DataError, match=message) as e:
            load_points(PointsConfig(data=str(tmp_path / name)), {})
        assert e.value.hint
    with pytest.raises(DataError, match="--columns is for CSV files"):
        load_points(PointsConfig(data="builtin:spiral", columns="x,y"), {})
    for bad in (dict(columns="x"), dict(val_split=0.9), dict(components=0), dict(precision="fp16")):
        with pytest.raises(ConfigError):
            PointsConfig(data="builtin:spiral", **bad).validate()


# --- training, resume, sampling ---------------------------------------------------------------------------------

def test_training_learns_the_spiral(spiral_run: Path) -> None:
    rows = [json.loads(line) for line in (spiral_run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["nll"] for r in rows if "nll" in r]
    assert losses[-1] < losses[0] - 0.4
    assert [r["step"] for r in rows if "eval_val_loss" in r] == [200, 400]
    assert (spiral_run / "checkpoints" / "best.safetensors").exists()


def test_resume_continues_exactly(tmp_path: Path) -> None:
    cfg = lambda: PointsConfig(data="builtin:spiral", steps=40, **FAST)  # noqa: E731
    train(cfg(), tmp_path / "straight", console=quiet())
    trainer = Trainer(cfg(), tmp_path / "split", console=quiet())
    step = trainer.model.train_step

    def interrupt_after_15(s: int) -> dict[str, torch.Tensor]:
        trainer._interrupted = s == 14  # what Ctrl-C does: the loop saves this step and stops
        return step(s)

    trainer.model.train_step = interrupt_after_15  # type: ignore[method-assign]
    trainer.fit()
    train(cfg(), tmp_path / "split", console=quiet())
    a, info_a = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.safetensors")
    b, info_b = load_checkpoint(tmp_path / "split" / "checkpoints" / "last.safetensors")
    assert info_a["step"] == info_b["step"] == 40
    for part in ("model", "opt"):
        for k, v in a["model"][part].items():
            if isinstance(v, torch.Tensor):
                assert torch.equal(v, b["model"][part][k]), k
    assert torch.equal(a["rng"]["data"], b["rng"]["data"])


def test_seed_k_gives_the_same_point_whatever_else_is_generated(spiral_run: Path) -> None:
    import genart

    model = genart.load(str(spiral_run))
    many = model.generate(n=50, seed=0)
    assert many.shape == (50, 2) and many.dtype == torch.float64
    assert torch.equal(model.generate(seeds=[7, 3]), many[[7, 3]])
    assert not torch.equal(model.generate(n=50, seed=50), many)
    centres = model.generate(n=50, seed=0, temperature=0.0)
    means = model.sampler.to_data(model.sampler.model.means.detach())
    assert all(any(torch.allclose(c, m) for m in means) for c in centres)  # temperature 0: the components' centres
    with pytest.raises(ConfigError, match="negative"):
        model.generate(seeds=[-1])


def test_evaluation_puts_the_model_between_its_floor_and_ceiling(spiral_run: Path) -> None:
    from genart.evaluate import evaluate

    figures = {f["key"]: f for f in evaluate(spiral_run, n=400, console=quiet())["figures"]}
    assert figures["val_loss"]["model"] < figures["val_loss"]["ceiling"]  # beats one Gaussian
    swd = figures["sliced_wasserstein"]
    assert swd["floor"] < swd["ceiling"] and swd["model"] < swd["ceiling"]
    assert figures["precision"]["model"] > figures["precision"]["ceiling"]
    with pytest.raises(ConfigError, match="--n 5 is out of range"):
        evaluate(spiral_run, n=5, console=quiet())


def test_the_kind_declares_itself_as_a_plugin() -> None:
    spec = get_kind("points")
    assert spec.demo == () and spec.capabilities == frozenset()
    assert spec.extras["tiny"]["config"]["data"] == "builtin:spiral"
    import genart_points

    source = Path(genart_points.__file__).parent
    imported = " ".join(p.read_text() for p in source.glob("*.py"))
    assert "genart.kinds" not in imported  # a plug-in uses genart's core and toolkits, never another kind
