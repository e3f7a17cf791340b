"""Audio for music outputs: FluidSynth with a General MIDI soundfont when one is installed, else a small built-in
synthesiser (no soundfont needed).

The soundfont: `--soundfont FILE.sf2` when given; else $GENART_SOUNDFONT (a .sf2 file; `none` forces the built-in
synthesiser); else the first General MIDI soundfont found in a standard place (SOUNDFONT_PLACES: Debian's
fluid-soundfont-gm, ~/.local/share/soundfonts, Homebrew's share/soundfonts ...), used only when FluidSynth is
installed. FluidSynth renders in floating point; its stereo output is trimmed of trailing silence and normalised.

The synthesiser gives each note a few harmonics (each fading faster than the one below) under an
attack-decay-sustain-release envelope, drums a short burst of noise; it mixes at 44.1 kHz, mono.

Either way the peak is normalised to -1 dBFS, so the result never clips; the WAV is 16-bit and carries a signed C2PA
manifest; its provenance (with `synthesiser`: which of the two made it) also goes into a JSON sidecar (song.wav.json).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

from genart.core.errors import ConfigError, GenartError
from genart.core.files import atomic_path, write_json
from genart.io.signing import sign_bytes

SAMPLE_RATE = 44_100
PEAK = 10 ** (-1 / 20)  # -1 dBFS
HARMONICS = (1.0, 0.5, 0.3, 0.15, 0.08)
ATTACK, DECAY, SUSTAIN, RELEASE = 0.01, 0.12, 0.6, 0.15
MAX_SECONDS = 60 * 60
SOUNDFONT_ENV = "GENART_SOUNDFONT"  # a .sf2 file, or "none" for the built-in synthesiser
BUILTIN = "none"  # as a soundfont: the built-in synthesiser, whatever is installed
BUILTIN_WORDS = {"none", "builtin", "built-in", "off", "0"}
SOUNDFONT_PLACES = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
                    "/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/soundfonts/default.sf2",
                    "/usr/share/soundfonts/FluidR3_GM.sf2", "/usr/share/soundfonts/default-GM.sf2",
                    "/usr/local/share/soundfonts/default.sf2", "/opt/homebrew/share/soundfonts/default.sf2",
                    "/usr/local/share/fluidsynth/default.sf2", "/opt/homebrew/share/fluidsynth/default.sf2",
                    "~/.local/share/soundfonts/*.sf2", "~/Library/Audio/Sounds/Banks/*.sf2")
BUILTIN_NAME = "genart built-in additive synthesiser"
SILENCE = 1e-3  # trailing FluidSynth output below this share of the peak is cut (after a short fade)


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
    """Float samples in [-1, 1], mono (n,) or with channels (n, c), as a 16-bit WAV in memory (what write_wav writes;
    the studio serves it)."""
    x = np.asarray(samples)
    channels = 1 if x.ndim == 1 else int(x.shape[1])
    pcm = np.clip(np.rint(x * 32767), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
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


# --- which synthesiser -----------------------------------------------------------------------------------------

def find_soundfont() -> Path | None:
    """The General MIDI soundfont audio uses by default: $GENART_SOUNDFONT, else the first of SOUNDFONT_PLACES that
    holds one. None (the built-in synthesiser) when GENART_SOUNDFONT is `none`, FluidSynth is not installed, or no
    soundfont is found."""
    env = os.environ.get(SOUNDFONT_ENV, "").strip()
    if env.lower() in BUILTIN_WORDS:
        return None
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(f"{SOUNDFONT_ENV}={env} is not a file",
                              f"point it at a .sf2 soundfont, or set {SOUNDFONT_ENV}=none for the built-in synthesiser")
        return path if shutil.which("fluidsynth") else None
    if shutil.which("fluidsynth") is None:
        return None
    for place in SOUNDFONT_PLACES:
        path = Path(place).expanduser()
        if "*" in path.name:
            found = sorted(p for p in path.parent.glob(path.name) if p.is_file()) if path.parent.is_dir() else []
            if found:
                return found[0]
        elif path.is_file():
            return path
    return None


def choose_soundfont(soundfont: Path | str | None = None) -> Path | None:
    """The soundfont a piece is rendered with: `soundfont` when given (FluidSynth must be installed; "none" asks for
    the built-in synthesiser), else find_soundfont(). None means the built-in synthesiser."""
    if soundfont is None:
        return find_soundfont()
    if str(soundfont).strip().lower() in BUILTIN_WORDS:
        return None
    path = Path(soundfont)
    if not path.is_file():
        raise ConfigError(f"--soundfont {path} does not exist", "give a .sf2 file, or leave --soundfont out")
    if shutil.which("fluidsynth") is None:
        raise ConfigError("--soundfont needs FluidSynth, which is not installed",
                          "install it (e.g. apt install fluidsynth), or leave --soundfont out for the built-in synthesiser")
    return path


def synthesiser_name(soundfont: Path | None) -> str:
    """What `synthesiser` says in the provenance (and the CLI prints) for this choice of soundfont."""
    return f"FluidSynth with {Path(soundfont).name}" if soundfont is not None else BUILTIN_NAME


def why_builtin() -> str:
    """Why the default is the built-in synthesiser (for the line the CLI prints)."""
    env = os.environ.get(SOUNDFONT_ENV, "").strip()
    if env.lower() in BUILTIN_WORDS:
        return f"{SOUNDFONT_ENV}={env}"
    if shutil.which("fluidsynth") is None:
        return "FluidSynth is not installed; install it and a General MIDI soundfont (apt install fluid-soundfont-gm)"
    return f"no General MIDI soundfont found; give --soundfont FILE.sf2 or set {SOUNDFONT_ENV}"


# --- FluidSynth ------------------------------------------------------------------------------------------------

def fluidsynth_samples(midi_path: Path, soundfont: Path, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The MIDI file through FluidSynth with `soundfont`: stereo float32 (n, 2), rendered in floating point (so nothing
    clips on the way), trailing silence cut, peak normalised to -1 dBFS."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ConfigError("FluidSynth is not installed",
                          "install it (e.g. apt install fluidsynth), or leave --soundfont out for the built-in synthesiser")
    with tempfile.TemporaryDirectory(prefix="genart-fluidsynth-") as d:
        raw = Path(d) / "out.raw"
        cmd = [exe, "-q", "-ni", "-T", "raw", "-O", "float", "-E", "little", "-F", str(raw), "-r", str(sr),
               str(soundfont), str(midi_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not raw.is_file():
            raise GenartError(f"FluidSynth failed on {Path(midi_path).name}: "
                              f"{(proc.stderr or proc.stdout).strip()[:160]}",
                              "check the soundfont, or set GENART_SOUNDFONT=none for the built-in synthesiser")
        x = np.fromfile(raw, dtype="<f4")
    x = x[: len(x) - len(x) % 2].reshape(-1, 2).astype(np.float64)
    level = np.abs(x).max(axis=1) if len(x) else np.zeros(0)
    peak = float(level.max()) if len(level) else 0.0
    if peak <= 0:
        return np.zeros((int(RELEASE * sr) + 1, 2), dtype=np.float32)
    fade = int(0.05 * sr)
    last = int(np.nonzero(level > SILENCE * peak)[0][-1]) + 1
    x = x[: min(len(x), last + fade)]
    tail = len(x) - last
    if tail > 0:
        x[last:] *= np.linspace(1, 0, tail)[:, None]
    return (x * (PEAK / peak)).astype(np.float32)


def fluidsynth_wav(midi_path: Path, soundfont: Path, path: Path, sr: int = SAMPLE_RATE,
                   provenance: dict[str, Any] | None = None) -> Path:
    """The MIDI file through FluidSynth as a normalised 16-bit stereo WAV (signed with provenance)."""
    return write_wav(fluidsynth_samples(midi_path, soundfont, sr), path, sr, provenance)


# --- one way to render a piece ---------------------------------------------------------------------------------

def render_audio(score: Any, soundfont: Path | str | None = None, midi_path: Path | None = None) -> tuple[np.ndarray, str]:
    """The piece as samples (peak at -1 dBFS) and the name of what made them: FluidSynth with `soundfont` or the
    default soundfont (choose_soundfont), else the built-in synthesiser. `midi_path`: the piece already written as
    MIDI (saves writing it again for FluidSynth)."""
    sf = choose_soundfont(soundfont)
    if sf is None:
        return synthesise(score), BUILTIN_NAME
    if not score.note_num():
        return np.zeros((int(RELEASE * SAMPLE_RATE) + 1, 2), dtype=np.float32), synthesiser_name(sf)
    end = float(score.to("second").end())
    if end > MAX_SECONDS:
        raise GenartError(f"the piece lasts {end / 60:.0f} minutes; audio stops at {MAX_SECONDS // 60}",
                          "generate fewer bars")
    if midi_path is not None:
        return fluidsynth_samples(Path(midi_path), sf), synthesiser_name(sf)
    from genart.io.midi import midi_bytes

    with tempfile.TemporaryDirectory(prefix="genart-midi-") as d:
        mid = Path(d) / "piece.mid"
        mid.write_bytes(midi_bytes(score))
        return fluidsynth_samples(mid, sf), synthesiser_name(sf)


def render_wav_bytes(score: Any, soundfont: Path | str | None = None) -> tuple[bytes, str]:
    """The piece as an unsigned 16-bit WAV in memory, rendered as render_audio does (the studio serves it), and the
    name of the synthesiser."""
    samples, synth = render_audio(score, soundfont)
    return wav_bytes(samples), synth


def render_wav(score: Any, path: Path, provenance: dict[str, Any], soundfont: Path | str | None = None,
               midi_path: Path | None = None) -> Path:
    """The piece as a signed WAV at `path` (render_audio: FluidSynth with `soundfont` or the default soundfont, else
    the built-in synthesiser) and its provenance, `synthesiser` included, in `path`.json. Returns the WAV's path."""
    path = Path(path)
    samples, synth = render_audio(score, soundfont, midi_path)
    prov = {**provenance, "synthesiser": synth, "sample_rate": SAMPLE_RATE}
    write_wav(samples, path, provenance=prov)
    write_json(path.with_name(path.name + ".json"), prov)
    return path
