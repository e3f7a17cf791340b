"""Data-parallel training under torchrun (gloo, two CPU processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from genart.core.checkpoints import checkpoint_info


def torchrun(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "genart", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def assert_resumes(run: Path, command: list[str], done: int, steps: int) -> None:
    """The same torchrun command with a larger budget resumes the run and ends with identical replicas."""
    out = torchrun(*command, "--steps", str(steps))
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"resuming from step {done}" in out.stderr
    assert f"replicas identical after step {steps}" in out.stderr
    assert checkpoint_info(run / "checkpoints" / "last.safetensors")["step"] == steps


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

    assert_resumes(run, common, 10, 20)


def test_two_process_text_trains_resumes_and_keeps_replicas_identical(tmp_path: Path) -> None:
    corpus = tmp_path / "poems.txt"
    corpus.write_text("".join(f"line {i}: the quick brown fox jumps over the lazy dog, again and again.\n"
                              for i in range(300)))
    run = tmp_path / "text"
    common = ["train", "text", "--data", str(corpus), "--out", str(run), "--hidden", "32", "--embed", "16",
              "--batch", "4", "--bptt", "16", "--warmup", "2", "--log-every", "5", "--sample-every", "5"]
    first = torchrun(*common, "--steps", "10")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "data-parallel: 2 processes, batch 4 per process (8 per step in all)" in first.stderr
    assert "replicas identical after step 10" in first.stderr
    assert "DIFFER" not in first.stderr
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == ["best.safetensors", "last.safetensors", "previous.safetensors"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-0000005.txt", "step-0000010.txt"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [5, 10]  # one writer
    losses = [r["loss"] for r in rows if "loss" in r]
    assert losses[-1] < losses[0]

    assert_resumes(run, common, 10, 20)


def test_two_process_vae_and_music_keep_replicas_identical(tmp_path: Path) -> None:
    vae = torchrun("train", "vae", "--data", "builtin:digits", "--out", str(tmp_path / "v"), "--size", "8",
                   "--batch", "8", "--steps", "6", "--log-every", "3", "--sample-every", "0")
    assert vae.returncode == 0, vae.stderr[-2000:]
    assert "replicas identical after step 6" in vae.stderr
    assert checkpoint_info(tmp_path / "v" / "checkpoints" / "last.safetensors")["step"] == 6

    import mido

    songs = tmp_path / "songs"
    songs.mkdir()
    for k in range(6):
        track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)])
        for i in range(64):
            pitch = 60 + (i * (k + 2)) % 12
            track += [mido.Message("note_on", note=pitch, velocity=80, time=0),
                      mido.Message("note_off", note=pitch, velocity=0, time=240)]
        mido.MidiFile(tracks=[track], ticks_per_beat=480).save(str(songs / f"song{k}.mid"))
    music = torchrun("train", "music", "--data", str(songs), "--out", str(tmp_path / "m"), "--hidden", "32",
                     "--embed", "16", "--batch", "2", "--bptt", "16", "--steps", "6", "--log-every", "3",
                     "--sample-every", "0")
    assert music.returncode == 0, music.stderr[-2000:]
    assert "replicas identical after step 6" in music.stderr
    assert checkpoint_info(tmp_path / "m" / "checkpoints" / "last.safetensors")["step"] == 6


def test_too_little_data_for_the_processes_is_one_clear_error(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "one"
    folder.mkdir()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(folder / "only.png")
    out = torchrun("train", "gan", "--data", str(folder), "--out", str(tmp_path / "g"), "--size", "8", "--steps", "2")
    assert out.returncode != 0
    assert "error: 1 training images cannot be shared among 2 processes" in out.stderr  # genart's line, then torchrun's
    assert "hint: start fewer processes" in out.stderr


def test_two_process_diffusion_trains_resumes_and_keeps_replicas_identical(tmp_path: Path) -> None:
    run = tmp_path / "diffusion"
    common = ["train", "diffusion", "--data", "builtin:digits", "--out", str(run), "--size", "16", "--width", "8",
              "--batch", "8", "--log-every", "3", "--sample-every", "0"]
    first = torchrun(*common, "--steps", "6")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "data-parallel: 2 processes" in first.stderr
    assert "replicas identical after step 6" in first.stderr and "DIFFER" not in first.stderr
    assert_resumes(run, common, 6, 9)
