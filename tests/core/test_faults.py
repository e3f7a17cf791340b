"""What a laptop does to a run: kills at any moment, a damaged checkpoint, a full disk, a hand-edited run folder.

The kills are real (SIGKILL) and deterministic: tests/core/kill_helper.py runs the training commands in children that
stop themselves at the chosen moment. The full-disk tests use a small tmpfs where one can be mounted (root), and
simulated ENOSPC errors everywhere.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import TINY, subprocess_env
from safetensors import SafetensorError

import genart.core.checkpoints as checkpoints
import genart.core.files as files
import genart.core.rundir as rundir
from genart.core.checkpoints import LAST, PREVIOUS, checkpoint_info, load_checkpoint
from genart.core.errors import RunError
from genart.core.rundir import RunDir

HERE = Path(__file__).resolve().parent


def train_args(out: Path, steps: int, *extra: str) -> list[str]:
    """One fixed `genart train` command (the same each time a run is resumed)."""
    return ["train", "gan", "--data", "builtin:digits", "--out", str(out), "--steps", str(steps), *TINY,
            "--threads", "1", *extra]


def genart_here(*args: str | Path) -> tuple[int, str, str]:
    """`genart ARGS` through the real CLI entry point, in this process (no start-up cost): (rc, stdout, stderr)."""
    from genart.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["genart", *map(str, args)]
    rc = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = argv
    return rc, out.getvalue(), err.getvalue()


def temporaries(run: Path) -> list[str]:
    return sorted(str(p.relative_to(run)) for p in run.rglob(f"*{files.TMP_MARK}*"))


def step_of(run: Path, name: str = LAST) -> int:
    return int(checkpoint_info(run / "checkpoints" / name)["step"])


def logged_steps(run: Path) -> list[int]:
    """The steps of metrics.jsonl's loss rows; every line must be whole JSON."""
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    assert all(line.endswith("\n") for line in lines), "a partial line was left in metrics.jsonl"
    return [r["step"] for r in map(json.loads, lines) if "loss_d" in r]


def warning_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GAN trained 20 steps by the CLI, checkpointed at 10 and 20: last (20) and previous (10)."""
    run = tmp_path_factory.mktemp("faults") / "base"
    rc, _, err = genart_here(*train_args(run, 20, "--sample-every", "0", "--checkpoint-every", "10"))
    assert rc == 0, err
    for kept in (run / "checkpoints").glob("step-*"):  # only last and previous to fall back on
        kept.unlink()
    assert (step_of(run), step_of(run, PREVIOUS)) == (20, 10)
    return run


@pytest.fixture
def run_copy(base_run: Path, tmp_path: Path) -> Path:
    shutil.copytree(base_run, tmp_path / "run")
    return tmp_path / "run"


# --- kills ------------------------------------------------------------------------------------------

KILLS = {  # where each child is stopped, then killed: (point, n-th time), see kill_helper.py
    "startup": ("config", 1),  # config.json written, no checkpoint yet
    "mid-step": ("step", 9),  # step 5, between D's and G's optimizer steps
    "mid-write": ("write", 5),  # step 5's checkpoint half-written to its temporary file
    "mid-rotate": ("rotate", 5),  # step 5's checkpoint written, last kept as previous, not yet renamed to last
    "mid-append": ("append", 6),  # half of step 6's metrics line written
}


def kill_at(points: dict[str, tuple[str, int]], args: Callable[[str], list[str]], folder: Path,
            timeout: float = 240) -> dict[str, str]:
    """Start `genart ARGS(name)` for each named point, SIGKILL each where it stops; returns each child's log."""
    jobs = [{"name": name, "point": point, "n": n, "args": args(name), "log": str(folder / f"{name}.log")}
            for name, (point, n) in points.items()]
    (folder / "jobs.json").write_text(json.dumps(jobs))
    helper = subprocess.Popen([sys.executable, str(HERE / "kill_helper.py"), str(folder / "jobs.json")],
                              stdout=subprocess.PIPE, text=True, env=subprocess_env(), start_new_session=True)
    watchdog = threading.Timer(timeout, lambda: os.killpg(helper.pid, signal.SIGKILL))
    watchdog.start()
    ended = {}
    try:
        assert helper.stdout is not None
        for line in helper.stdout:
            event, name, value = line.split()
            if event == "stopped":
                os.kill(int(value), signal.SIGKILL)
            else:
                ended[name] = int(value)
    finally:
        watchdog.cancel()
        helper.wait()
    logs = {j["name"]: Path(j["log"]).read_text() for j in jobs}
    for name in points:
        assert ended.get(name) == -signal.SIGKILL, f"{name} was not killed where meant:\n{logs[name]}"
    return logs


def test_killed_at_any_moment_the_same_command_resumes_to_completion(tmp_path: Path) -> None:
    def args(name: str) -> list[str]:  # a checkpoint after every step, so that each kill finds one being made
        return train_args(tmp_path / name, 10, "--sample-every", "0", "--save-every", "0.000001")

    kill_at(KILLS, args, tmp_path)
    runs = {name: tmp_path / name for name in KILLS}

    # where each was killed, as seen on disk
    assert (runs["startup"] / "config.json").exists() and not (runs["startup"] / "checkpoints").exists()
    assert [step_of(runs[name]) for name in ("mid-step", "mid-write", "mid-rotate", "mid-append")] == [4, 4, 4, 5]
    assert any(temporaries(runs["mid-write"])) and any(temporaries(runs["mid-rotate"]))
    assert step_of(runs["mid-rotate"], PREVIOUS) == 4  # last kept as previous, and still in place
    assert not (runs["mid-append"] / "metrics.jsonl").read_text().endswith("\n")

    for name, run in runs.items():
        rc, _, err = genart_here(*args(name))  # the same command, again
        assert rc == 0, f"{name}: {err}"
        assert not warning_lines(err), f"{name}: {err}"
        if name != "startup":
            assert "resuming from step" in err, f"{name}: {err}"
        assert step_of(run) == 10 and not temporaries(run), name
        steps = logged_steps(run)
        assert steps == sorted(set(steps)) and steps[-1] == 10, f"{name}: {steps}"

    for name, run in runs.items():  # and `genart generate` works on each
        rc, _, err = genart_here("generate", run, "--out", tmp_path / f"{name}.png", "--n", "4")
        assert rc == 0 and (tmp_path / f"{name}.png").stat().st_size > 0 and not warning_lines(err), f"{name}: {err}"

    # resumed runs are the run that was never killed: weights, optimizer moments and random state all came back
    rc, _, err = genart_here(*args("never-killed"))
    assert rc == 0, err
    reference, _ = load_checkpoint(tmp_path / "never-killed" / "checkpoints" / LAST)
    for name, run in runs.items():
        state, _ = load_checkpoint(run / "checkpoints" / LAST)
        assert all(torch.equal(state["model"]["G_ema"][k], v) for k, v in reference["model"]["G_ema"].items()), name


# --- a damaged last checkpoint --------------------------------------------------------------------------


def test_a_truncated_last_checkpoint_falls_back_to_the_previous_one(run_copy: Path) -> None:
    from genart.api import Model
    from genart.info import run_info

    last = run_copy / "checkpoints" / LAST
    with open(last, "r+b") as f:  # cut short, as by a half-finished copy
        f.truncate(last.stat().st_size // 2)
    lost = "using previous.safetensors (step 10): steps 11 to 20 are lost"

    warnings: list[str] = []
    model = Model.load(run_copy, warn=warnings.append)
    assert model.step == 10 and len(warnings) == 1 and lost in warnings[0], warnings
    assert lost in run_info(run_copy)["warning"]
    rc, _, err = genart_here("generate", run_copy, "--out", run_copy.parent / "grid.png", "--n", "4")
    assert rc == 0 and warning_lines(err) == [f"warning: last.safetensors is unreadable (damaged or cut short); {lost}"]

    rc, _, err = genart_here(*train_args(run_copy, 25, "--sample-every", "0"))
    assert rc == 0, err
    assert f"warning: last.safetensors is unreadable (damaged or cut short); {lost}" in err
    assert "resuming from step 10" in err
    assert step_of(run_copy) == 25
    assert step_of(run_copy, PREVIOUS) == 10, "the damaged last must not have been kept as previous"
    steps = logged_steps(run_copy)
    assert steps == sorted(set(steps)) and steps[-1] == 25


def test_without_any_readable_checkpoint_the_error_is_one_line(run_copy: Path) -> None:
    for p in (run_copy / "checkpoints").iterdir():
        p.write_bytes(p.read_bytes()[:1000])
    for args in (["generate", run_copy, "--out", run_copy.parent / "grid.png"], train_args(run_copy, 25)):
        rc, _, err = genart_here(*args)
        assert rc == 2 and len(error_lines(err)) == 1, err
        assert "last.safetensors" in error_lines(err)[0] and "no earlier checkpoint is readable" in err


# --- absurd sizes in a run folder ---------------------------------------------------------------------


def _safetensors(path: Path, header: dict[str, Any], n: int | None = None, body: bytes = b"") -> Path:
    text = json.dumps(header).encode()
    path.write_bytes((len(text) if n is None else n).to_bytes(8, "little") + text + body)
    return path


@pytest.mark.parametrize("n,header,fragment", [
    (1 << 60, {}, "-byte header"),
    (None, {"w": {"dtype": "F32", "shape": [250_000_000_000_000], "data_offsets": [0, 10**15]}},
     "claims 1,000,000,000,000,000 bytes of tensors"),
    (None, {"w": {"dtype": "F32", "shape": [2], "data_offsets": "everything"}}, "malformed entry"),
])
def test_absurd_checkpoint_headers_are_refused_before_allocating(tmp_path: Path, n: int | None, header: dict,
                                                                 fragment: str) -> None:
    path = _safetensors(tmp_path / LAST, header, n, body=b"\0" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(RunError) as err:
            load_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fragment in err.value.message and "\n" not in err.value.message, err.value.message
    assert peak < 1 << 20


def test_a_checkpoint_with_an_absurd_header_is_passed_over(run_copy: Path) -> None:
    _safetensors(run_copy / "checkpoints" / LAST, {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 10**15]}})
    rc, _, err = genart_here("generate", run_copy, "--out", run_copy.parent / "grid.png", "--n", "4")
    assert rc == 0 and "using previous.safetensors (step 10)" in err, err


@pytest.mark.parametrize("edit,fragment", [
    (lambda c: c["config"].update(width=10**7), "--width 10000000 is too large"),
    (lambda c: c["config"].update(z_dim=10**9), "--z-dim 1000000000 is too large"),
    (lambda c: c["config"].update(batch=10**9), "--batch 1000000000 is too large"),
    (lambda c: c["resolved"].update(channels=10**7), "channels 10000000"),
    (lambda c: c["resolved"].update(classes=[str(i) for i in range(100_000)]), "100,000 classes"),
    (lambda c: c.update(resolved=[]), "not a JSON object"),
])
def test_a_config_claiming_absurd_sizes_is_refused(run_copy: Path, edit: Callable[[dict], None], fragment: str) -> None:
    raw = json.loads((run_copy / "config.json").read_text())
    edit(raw)
    (run_copy / "config.json").write_text(json.dumps(raw))
    commands = [["info", run_copy], ["generate", run_copy, "--out", run_copy.parent / "grid.png"]]
    if "config" in fragment or "--" in fragment:  # resuming with the same options: config.json is read first
        commands.append(train_args(run_copy, 25))
    for args in commands:
        rc, _, err = genart_here(*args)
        assert rc == 2, (args, err)
        (line,) = error_lines(err)
        assert "config.json" in line and fragment in line, line


def test_a_recurrent_config_claiming_a_huge_network_is_refused(tmp_path: Path) -> None:
    from genart.kinds.text.config import TextConfig

    run = tmp_path / "text"
    run.mkdir()
    config = {**TextConfig(data="builtin:shakespeare").to_dict(), "hidden": 10**9}
    (run / "config.json").write_text(json.dumps({"kind": "text", "config": config, "resolved": {}}))
    with pytest.raises(RunError) as err:
        RunDir.open(run)
    assert "config.json" in err.value.message and "too large" in err.value.message


def test_an_oversized_config_file_is_not_read(run_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rundir, "MAX_CONFIG", 100)
    with pytest.raises(RunError) as err:
        RunDir.open(run_copy)
    assert "far larger than genart writes" in err.value.message


# --- a full disk: simulated (anywhere) ------------------------------------------------------------------


class FullFile(io.RawIOBase):
    """A file on a disk that fills up half-way through the next write."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def write(self, b: Any) -> int:
        self.raw.write(bytes(b)[: len(b) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def tell(self) -> int:
        return self.raw.tell()

    def truncate(self, size: int | None = None) -> int:
        return self.raw.truncate(size)

    def close(self) -> None:
        self.raw.close()
        super().close()


def simulated_full_disk(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    if where == "kind-writer":  # a kind writing its previews its own way: a plain OSError
        from genart.kinds.gan.model import GANTrainable

        def full_preview(self: Any, path_stem: Path) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path_stem.with_suffix(".png")))

        monkeypatch.setattr(GANTrainable, "preview", full_preview)
    elif where == "checkpoint-write":  # as safetensors reports it: its writer is Rust, the error no OSError
        save_file = checkpoints.save_file

        def half_then_full(tensors: Any, filename: str, metadata: Any = None) -> None:
            save_file(tensors, filename, metadata=metadata)
            os.truncate(filename, os.path.getsize(filename) // 2)
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

        monkeypatch.setattr(checkpoints, "save_file", half_then_full)
    elif where == "checkpoint-rename":
        replace = os.replace

        def full_for_last(src: Any, dst: Any) -> None:
            if Path(dst).name == LAST:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
            replace(src, dst)

        monkeypatch.setattr(os, "replace", full_for_last)
    elif where == "metrics-append":
        real_open = open

        def open_full(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            f = real_open(path, mode, *args, **kwargs)
            return FullFile(f) if Path(path).name == "metrics.jsonl" and "a" in mode else f

        monkeypatch.setattr(files, "open", open_full, raising=False)


def test_a_simulated_full_disk_is_one_line_and_the_run_resumes(run_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk while writing a preview, a checkpoint (its data, its rename) and while logging; each time the same
    command resumes once there is space again. The last good checkpoint survives every failure."""
    args = train_args(run_copy, 30, "--sample-every", "0", "--checkpoint-every", "10")
    metrics_before = (run_copy / "metrics.jsonl").read_text()
    for where, folder in [("kind-writer", "samples"), ("checkpoint-write", "checkpoints"),
                          ("checkpoint-rename", "checkpoints"), ("metrics-append", "run")]:
        with monkeypatch.context() as m:
            simulated_full_disk(m, where)
            rc, _, err = genart_here(*args)
        assert rc == 2, f"{where}: {err}"
        (line,) = error_lines(err)
        assert f"no space left on the disk holding {run_copy / folder if folder != 'run' else run_copy}" in line, line
        assert "was not written" in line and "needs about" in line, line
        assert ("the run needs about" in line) == (folder != "checkpoints"), line  # the next checkpoint included
        assert "free some space" in err
        assert not temporaries(run_copy), f"{where}: {temporaries(run_copy)}"
        assert step_of(run_copy) == 20 and load_checkpoint(run_copy / "checkpoints" / LAST)
        if where == "metrics-append":  # the half-written line was taken back
            assert (run_copy / "metrics.jsonl").read_text() == metrics_before
    rc, _, err = genart_here(*args)
    assert rc == 0 and "resuming from step 20" in err, err
    assert step_of(run_copy) == 30 and step_of(run_copy, PREVIOUS) == 20
    assert logged_steps(run_copy)[-1] == 30


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "a.json"
    files.write_json(target, {"v": 1})

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(files.WriteError) as err:
        files.write_json(target, {"v": 2, "pad": "x" * 5000})
    assert err.value.full and err.value.needed and err.value.needed > 5000
    assert f"disk holding {target.parent}" in err.value.message and "a.json was not written" in err.value.message
    assert json.loads(target.read_text()) == {"v": 1} and os.listdir(target.parent) == ["a.json"]


# --- a full disk: real (a small tmpfs) ------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB tmpfs (skipped where it cannot be mounted: not root, no mount, a container without the right)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not sys.platform.startswith("linux") or not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs Linux and root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: Path) -> None:
    """Fill the disk to its last byte."""
    with open(disk / "filler", "ab", buffering=0) as f:
        chunk = b"\0" * (1 << 20)
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
                return


SITES = [  # (what fills the disk, the file whose write then fails, the folder named); in the order a run meets them
    ("start-up", "data.json", ""),
    ("sample preview", "step-0000025.png", "samples"),
    ("loss plot", "metrics.png", ""),
    ("checkpoint", LAST, "checkpoints"),
    ("model card", "MODEL_CARD.md", ""),
]


def test_a_full_disk_anywhere_in_training_is_one_line_and_the_run_resumes(
        base_run: Path, small_disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up at each kind of write in turn: each time `genart train` says so in one line (exit 2, no
    traceback), keeps the last good checkpoint, leaves no temporary file, and the same command resumes once there
    is space again."""
    import tempfile

    run = small_disk / "run"
    shutil.copytree(base_run, run)
    args = train_args(run, 30, "--sample-every", "5", "--checkpoint-every", "10")
    mkstemp = tempfile.mkstemp
    for site, name, folder in SITES:
        (small_disk / "filler").unlink(missing_ok=True)
        before = step_of(run)
        stem, suffix = os.path.splitext(name)

        def mkstemp_then_fill(*a: Any, _stem: str = stem, _suffix: str = suffix, **kw: Any) -> tuple[int, str]:
            made = mkstemp(*a, **kw)
            if Path(made[1]).name.startswith(f".{_stem}{files.TMP_MARK}") and made[1].endswith(_suffix):
                fill(small_disk)
            return made

        with monkeypatch.context() as m:
            if site == "start-up":
                fill(small_disk)
            else:
                m.setattr(tempfile, "mkstemp", mkstemp_then_fill)
            rc, _, err = genart_here(*args)
        assert rc == 2, f"{site}: {err}"
        (line,) = error_lines(err)
        assert f"no space left on the disk holding {run / folder if folder else run}" in line, f"{site}: {line}"
        assert f"{name} was not written" in line and "needs about" in line, f"{site}: {line}"
        assert not temporaries(run), f"{site}: {temporaries(run)}"
        assert step_of(run) >= before and load_checkpoint(run / "checkpoints" / LAST), site
    (small_disk / "filler").unlink()
    rc, _, err = genart_here(*args)
    assert rc == 0 and "already trained to step 30" in err, err
    rc, _, err = genart_here("generate", run, "--out", small_disk / "grid.png", "--n", "4")
    assert rc == 0 and "warning" not in err, err
