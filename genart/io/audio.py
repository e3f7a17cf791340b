"""Audio for music outputs: a small built-in synthesiser (no soundfont needed), or FluidSynth with a .sf2 file.

The synthesiser gives each note a few harmonics (each fading faster than the one below) under an
attack-decay-sustain-release envelope, drums a short burst of noise; it mixes at 44.1 kHz and normalises the peak to
-1 dBFS, so the result never clips. The WAV is 16-bit mono; its provenance goes into a JSON sidecar (song.wav.json).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

from genart.core.errors import ConfigError, GenartError
from genart.core.files import atomic_path, write_json
from genart.io.signing import sign_bytes, sign_file

SAMPLE_RATE = 44_100
PEAK = 10 ** (-1 / 20)  # -1 dBFS
HARMONICS = (1.0, 0.5, 0.3, 0.15, 0.08)
ATTACK, DECAY, SUSTAIN, RELEASE = 0.01, 0.12, 0.6, 0.15
MAX_SECONDS = 60 * 60


def _envelope(n_on: int, n_total: int, sr: int) -> np.ndarray:
    t = np.arange(n_total) / sr
    env = np.where(t < ATTACK, t / ATTACK, SUSTAIN + (1 - SUSTAIN) * np.exp(-(t - ATTACK) / DECAY * 3))
    if n_total > n_on:
        level = env[n_on - 1] if n_on else 0.0
        env[n_on:] = level * np.linspace(1, 0, n_total - n_on)
    return env


def synthesise(score: Any, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A symusic Score to mono float32 samples in [-PEAK, PEAK] (silence stays zeros)."""
    s = score.to("second")
    end = float(s.end()) if s.note_num() else 0.0
    if end > MAX_SECONDS:
        raise GenartError(f"the piece lasts {end / 60:.0f} minutes; the built-in synthesiser stops at {MAX_SECONDS // 60}",
                          "generate fewer bars")
    out = np.zeros(int((end + RELEASE) * sr) + 1, dtype=np.float64)
    rng = np.random.default_rng(0)
    for track in s.tracks:
        if not len(track.notes):
            continue
        a = track.notes.numpy()
        for start, dur, pitch, vel in zip(a["time"], a["duration"], a["pitch"], a["velocity"], strict=True):
            n_on = max(1, int(max(float(dur), 0.03) * sr))
            n_total = n_on + int(RELEASE * sr)
            i0 = int(float(start) * sr)
            n_total = min(n_total, len(out) - i0)
            if n_total <= 0:
                continue
            t = np.arange(n_total) / sr
            amp = (int(vel) / 127) * 0.2
            if track.is_drum:
                wave_ = rng.standard_normal(n_total) * np.exp(-t * 30)
            else:
                f = 440.0 * 2 ** ((int(pitch) - 69) / 12)
                wave_ = np.zeros(n_total)
                for h, w in enumerate(HARMONICS, start=1):
                    if f * h < sr / 2:
                        wave_ += w * np.exp(-t * h * 1.2) * np.sin(2 * np.pi * f * h * t)
                wave_ *= _envelope(min(n_on, n_total), n_total, sr)
            out[i0:i0 + n_total] += amp * wave_
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0:
        out *= PEAK / peak
    return out.astype(np.float32)


def wav_bytes(samples: np.ndarray, sr: int = SAMPLE_RATE) -> bytes:
    """Mono float samples in [-1, 1] as a 16-bit WAV, in memory (what write_wav writes; the studio serves it)."""
    pcm = np.clip(np.rint(samples * 32767), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def write_wav(samples: np.ndarray, path: Path, sr: int = SAMPLE_RATE, provenance: dict[str, Any] | None = None) -> Path:
    """The WAV, written atomically; with provenance it carries a signed C2PA manifest."""
    data = wav_bytes(samples, sr)
    if provenance is not None:
        data = sign_bytes(data, "audio/wav", provenance, Path(path).name)
    with atomic_path(Path(path), len(data)) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def fluidsynth_wav(midi_path: Path, soundfont: Path, path: Path, sr: int = SAMPLE_RATE,
                   provenance: dict[str, Any] | None = None) -> Path:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ConfigError("--soundfont needs FluidSynth, which is not installed",
                          "install it (e.g. apt install fluidsynth), or leave --soundfont out for the built-in synthesiser")
    with atomic_path(Path(path)) as tmp:
        proc = subprocess.run([exe, "-ni", "-F", str(tmp), "-r", str(sr), str(soundfont), str(midi_path)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not tmp.stat().st_size:
            raise GenartError(f"FluidSynth failed on {midi_path.name}: {(proc.stderr or proc.stdout).strip()[:160]}",
                              "check the soundfont, or leave --soundfont out for the built-in synthesiser")
        if provenance is not None:
            sign_file(tmp, provenance, "audio/wav", Path(path).name)
    return Path(path)


def render_wav(score: Any, path: Path, provenance: dict[str, Any], soundfont: Path | None = None,
               midi_path: Path | None = None) -> Path:
    """The piece as a WAV at `path` (built-in synthesiser, or FluidSynth with `soundfont`) and its provenance in
    `path`.json. Returns the WAV's path."""
    path = Path(path)
    synth = f"FluidSynth with {Path(soundfont).name}" if soundfont is not None else "genart built-in additive synthesiser"
    prov = {**provenance, "synthesiser": synth, "sample_rate": SAMPLE_RATE}
    if soundfont is not None:
        if midi_path is None:
            from genart.io.midi import write_midi

            with tempfile.TemporaryDirectory() as d:
                midi_path = write_midi(score, Path(d) / "piece.mid")
                fluidsynth_wav(midi_path, soundfont, path, provenance=prov)
        else:
            fluidsynth_wav(midi_path, soundfont, path, provenance=prov)
    else:
        write_wav(synthesise(score), path, provenance=prov)
    write_json(path.with_name(path.name + ".json"), prov)
    return path
