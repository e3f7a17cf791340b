"""Data-parallel training under torchrun (gloo, two CPU processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from genart.runs import checkpoint_info


def torchrun(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "genart", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_two_process_gan_trains_resumes_and_keeps_replicas_identical(tmp_path: Path) -> None:
    run = tmp_path / "ddp"
    common = ["train", "gan", "--data", "builtin:digits", "--out", str(run), "--size", "8", "--width", "8",
              "--batch", "16", "--log-every", "5", "--sample-every", "0"]
    first = torchrun(*common, "--steps", "10")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "data-parallel: 2 processes" in first.stderr
    assert "replicas identical after step 10" in first.stderr
    assert "DIFFER" not in first.stderr
    # one set of files, written by rank 0 only
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.safetensors"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "steps_per_s" in r] == [5, 10]
    assert checkpoint_info(run / "checkpoints" / "last.safetensors")["step"] == 10

    second = torchrun(*common, "--steps", "20")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming from step 10" in second.stderr
    assert "replicas identical after step 20" in second.stderr
    assert checkpoint_info(run / "checkpoints" / "last.safetensors")["step"] == 20


def test_torchrun_refuses_kinds_without_data_parallel_support(tmp_path: Path) -> None:
    out = torchrun("train", "vae", "--data", "builtin:digits", "--out", str(tmp_path / "v"), "--size", "8", "--steps", "2")
    assert out.returncode != 0
    assert "not available for vae runs" in out.stderr
    assert not (tmp_path / "v").exists()
