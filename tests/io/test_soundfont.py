"""Audio through FluidSynth with a General MIDI soundfont (genart.io.audio): the instrument's timbre, not the built-in
synthesiser's; peak at -1 dBFS; a signed WAV; and which synthesiser is picked by default. The renders are real: the
tests skip, saying why, where FluidSynth or the soundfont is not installed (.ci/run installs both)."""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from genart.core.errors import ConfigError

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # Debian's fluid-soundfont-gm


def needs_fluidsynth() -> None:
    if shutil.which("fluidsynth") is None:
        pytest.skip("FluidSynth is not installed (apt-get install fluidsynth; .ci/run installs it)")
    if not SOUNDFONT.is_file():
        pytest.skip(f"no General MIDI soundfont at {SOUNDFONT} (apt-get install fluid-soundfont-gm; .ci/run does)")


def one_note(program: int, pitch: int = 57, beats: float = 2.0):
    """A Score of one note (A3 = 220 Hz by default) held for `beats` at 120 bpm, played by GM `program`."""
    from symusic import Note, Score, Tempo, Track

    s = Score(480)
    s.tempos.append(Tempo(0, 120.0))
    t = Track(program=program)
    t.notes.append(Note(0, int(beats * 480), pitch, 100))
    s.tracks.append(t)
    return s


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    """(samples in [-1, 1] as frames x channels, channels, sample rate)."""
    with wave.open(str(path)) as w:
        ch, sr = w.getnchannels(), w.getframerate()
        assert w.getsampwidth() == 2
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32767
    return x.reshape(-1, ch), ch, sr


def harmonics(x: np.ndarray, sr: int, f0: float = 220.0, n: int = 10) -> tuple[np.ndarray, float]:
    """The strength of the first n harmonics of f0 over the note's first half second (loudest = 1), and the spectral
    centroid in Hz."""
    mono = x.mean(axis=1)
    seg = mono[int(0.05 * sr):int(0.55 * sr)]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    freqs = np.fft.rfftfreq(len(seg), 1 / sr)
    h = np.array([spec[(freqs > f0 * k * 0.97) & (freqs < f0 * k * 1.03)].max() for k in range(1, n + 1)])
    return h / h.max(), float((spec * freqs).sum() / spec.sum())


def test_a_general_midi_render_has_the_instruments_timbre_peak_normalised_and_signed(tmp_path: Path) -> None:
    from genart.io.audio import PEAK, SAMPLE_RATE, render_wav
    from genart.io.verify import verify_file

    needs_fluidsynth()
    prov = {"run": "tiny", "seed": 1, "ai_generated": "true"}
    trumpet = render_wav(one_note(56), tmp_path / "trumpet.wav", prov, soundfont=SOUNDFONT)
    builtin = render_wav(one_note(56), tmp_path / "builtin.wav", prov, soundfont="none")
    x, ch, sr = read_wav(trumpet)
    y, ch_b, _ = read_wav(builtin)
    assert (ch, sr, ch_b) == (2, SAMPLE_RATE, 1)
    assert 1.0 < len(x) / sr < 3.5  # the note's second, its release, no long silent tail
    # peak-normalised to -1 dBFS, as the built-in synthesiser is
    assert np.abs(x).max() == pytest.approx(PEAK, abs=2 / 32767)
    assert np.abs(y).max() == pytest.approx(PEAK, abs=2 / 32767)
    # the soundfont's trumpet, not the built-in harmonics: a different harmonic profile, much brighter
    h_fs, c_fs = harmonics(x, sr)
    h_bi, c_bi = harmonics(np.repeat(y, 2, axis=1), sr)
    assert np.corrcoef(h_fs, h_bi)[0, 1] < 0.6
    assert h_fs[5:].max() > 0.2 and h_bi[5:].max() < 0.01  # the built-in stops at the 5th harmonic
    assert c_fs > 2.5 * c_bi
    # the instrument is the General MIDI program's: the same note on the soundfont's violin sounds otherwise
    violin = render_wav(one_note(40), tmp_path / "violin.wav", prov, soundfont=SOUNDFONT)
    h_vn, _ = harmonics(read_wav(violin)[0], sr)
    assert np.abs(h_vn - h_fs).sum() > 1.0
    # provenance: in the sidecar and in a signed C2PA manifest, naming the synthesiser
    side = json.loads((tmp_path / "trumpet.wav.json").read_text())
    assert side["synthesiser"] == "FluidSynth with FluidR3_GM.sf2" and side["seed"] == 1
    verdict = verify_file(trumpet)
    assert verdict.ok, verdict.line
    assert verdict.provenance["synthesiser"] == "FluidSynth with FluidR3_GM.sf2"


def test_the_default_is_the_installed_soundfont_and_none_forces_the_builtin_synthesiser(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genart.io.audio import BUILTIN_NAME, find_soundfont, render_wav, render_wav_bytes

    needs_fluidsynth()
    monkeypatch.delenv("GENART_SOUNDFONT", raising=False)
    assert find_soundfont() is not None  # a standard place holds one (Debian's fluid-soundfont-gm here)
    monkeypatch.setenv("GENART_SOUNDFONT", str(SOUNDFONT))
    assert find_soundfont() == SOUNDFONT
    render_wav(one_note(0, beats=1), tmp_path / "a.wav", {"seed": 0})
    assert json.loads((tmp_path / "a.wav.json").read_text())["synthesiser"].startswith("FluidSynth")
    data, synth = render_wav_bytes(one_note(0, beats=1))  # what the studio serves: the same rendering
    assert synth.startswith("FluidSynth") and data[:4] == b"RIFF"
    monkeypatch.setenv("GENART_SOUNDFONT", "none")
    assert find_soundfont() is None
    render_wav(one_note(0, beats=1), tmp_path / "b.wav", {"seed": 0})
    assert json.loads((tmp_path / "b.wav.json").read_text())["synthesiser"] == BUILTIN_NAME
    assert render_wav_bytes(one_note(0, beats=1))[1] == BUILTIN_NAME


def test_a_soundfont_setting_that_names_no_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genart.io.audio import render_wav

    monkeypatch.setenv("GENART_SOUNDFONT", str(tmp_path / "missing.sf2"))
    with pytest.raises(ConfigError, match="GENART_SOUNDFONT=.*missing.sf2 is not a file") as e:
        render_wav(one_note(0), tmp_path / "a.wav", {})
    assert "GENART_SOUNDFONT=none" in e.value.hint
    assert not (tmp_path / "a.wav").exists()
