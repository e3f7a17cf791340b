"""`genart demo` end to end on a tiny budget, through the real command line: the gallery page, one section per
registered demo section, every picture and sound it shows, and each section's run with its checkpoint and evaluation."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import subprocess_env
from PIL import Image

from genart.demo import sections

MINUTES = "0.2"  # training time for all sections together; evaluation comes on top


def test_demo_writes_a_gallery_of_every_section(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "genart", "demo", "--out", str(out), "--minutes", MINUTES, "--quick"],
                          capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    index = out / "index.html"
    assert proc.stdout.strip() == f"gallery: {index}", proc.stdout
    page = index.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")

    chosen = [s for _, s in sections()]
    assert chosen, "no demo sections registered"
    assert re.findall(r"<h2>(.*?)</h2>", page) == [html.escape(s.title) for s in chosen]

    # every picture, sound and link on the page is a file the demo wrote, and each section shows something
    bodies = page.split("<h2>")[1:]
    for s, body in zip(chosen, bodies, strict=True):
        media = re.findall(r'<(?:img|audio)[^>]*\ssrc="([^"]+)"', body)
        assert media, f"section {s.name} shows no picture or sound"
        for ref in media + re.findall(r'<a[^>]*\shref="([^"]+)"', body):
            path = out / ref
            assert path.is_file() and path.stat().st_size > 0, (s.name, ref)
            if path.suffix in (".png", ".gif"):
                with Image.open(path) as img:
                    img.verify()
            elif path.suffix == ".wav":
                assert path.read_bytes()[:4] == b"RIFF", ref
            elif path.suffix == ".mid":
                assert path.read_bytes()[:4] == b"MThd", ref

    # each section's run: a checkpoint, and the evaluation the page shows
    for s in chosen:
        run = out / "runs" / s.name
        assert (run / "config.json").is_file() and (run / "checkpoints" / "last.safetensors").is_file(), s.name
        evaluation = json.loads((run / "evaluation.json").read_text(encoding="utf-8"))
        assert evaluation["run"] == s.name and evaluation["step"] > 0 and evaluation["figures"], s.name
        assert all("model" in f and "floor" in f and "ceiling" in f for f in evaluation["figures"]), s.name
