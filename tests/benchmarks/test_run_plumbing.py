"""benchmarks/run.py, split into a module per section, still runs end to end: its plumbing mode (every section at
tiny shapes, one thread) exits 0 and writes a report with every section of RESULTS.md."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genart.core import device

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("## Machine", "## Matrix-multiply peaks", "## Kernels: GFLOP/s of each part of a training step, fp32 / bf16",
            "## Training speed", "## bf16 soundness: genart dcgan on builtin:digits",
            "## bf16 soundness: the default text model on builtin:shakespeare", "## Generation:",
            "## Text sampling, characters/s")


@pytest.mark.skipif(not hasattr(device, "cpu_times"), reason="genart.core.device.cpu_times(), which the benchmarks "
                    "time with, is not there yet")
def test_run_plumbing_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--plumbing", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    text = out.read_text()
    assert text.startswith("# genart benchmarks (plumbing run")
    positions = [text.find(s) for s in SECTIONS]
    assert -1 not in positions, [s for s, p in zip(SECTIONS, positions, strict=True) if p < 0]
    assert positions == sorted(positions)  # in RESULTS.md's order
    for arch in ("mlp", "dcgan", "vae", "text"):
        assert f"| {arch} | genart | fp32 |" in text
