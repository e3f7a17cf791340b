"""benchmarks/gpu_check.py, the script that meets a GPU machine with little time to spare, works: its plumbing run on
the CPU goes through every kind's parity, fp16 and speed checks and exits 0 with a summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_plumbing_run_passes_on_the_cpu(tmp_path: Path) -> None:
    rows_file = tmp_path / "rows.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--quick", "--seconds", "1",
           "--cpu-seconds", "1", "--parity-steps", "5", "--skip", "compile", "--json", str(rows_file)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    rows = json.loads(rows_file.read_text())
    checks = {r["check"]: r["status"] for r in rows}
    for kind in ("gan", "vae", "text", "music"):
        assert checks[f"parity {kind}"] == "PASS"
        assert checks[f"speed {kind}"] == "PASS"
    assert "FAIL" not in checks.values()
