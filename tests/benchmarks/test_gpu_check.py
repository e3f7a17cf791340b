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


def test_a_kind_without_settings_is_a_skip_row(monkeypatch, tmp_path: Path) -> None:
    """Kinds come from the registry; one without an entry in benchmarks/gpu_settings.py is reported, not a crash."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import gpu_check
    import gpu_settings

    monkeypatch.setattr(gpu_settings, "SETTINGS", {k: v for k, v in gpu_settings.SETTINGS.items() if k != "vae"})
    monkeypatch.setattr(gpu_check, "SETTINGS", gpu_settings.SETTINGS)
    rows_file = tmp_path / "rows.json"
    code = gpu_check.main(["--device", "cpu", "--quick", "--kinds", "gan,vae", "--skip", "parity,fp16,compile,ddp",
                           "--seconds", "0.1", "--cpu-seconds", "0.1", "--threads", "1", "--json", str(rows_file)])
    assert code == 0
    checks = {r["check"]: (r["status"], r["detail"]) for r in json.loads(rows_file.read_text())}
    assert checks["settings vae"][0] == "SKIP" and "no settings" in checks["settings vae"][1]
    assert checks["speed gan"][0] == "PASS"
    assert "speed vae" not in checks
