"""`genart generate` on a music run: --roll draws the pieces (primer marked) as a signed PNG, a wrong suffix is a
one-line error, and --wav picks FluidSynth with the default General MIDI soundfont, or the built-in synthesiser."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import main_cli, quiet_console
from test_music import midi_file

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A music run trained for real but briefly on a few made MIDI files: enough to load and sample; what it plays does
    not matter here."""
    from genart.kinds.music.config import MusicConfig
    from genart.train import train

    root = tmp_path_factory.mktemp("music-roll")
    (root / "data").mkdir()
    for k in range(4):
        notes = [(b, 1.0, 60 + (k * 3 + b * 5) % 17) for b in range(16)] + [(0, 8, 48 + k), (8, 8, 43 + k)]
        midi_file(root / "data" / f"piece{k}.mid", notes)
    out = root / "run"
    cfg = MusicConfig(data=str(root / "data"), steps=8, batch=8, bptt=64, hidden=32, embed=16, layers=1,
                      lr=1e-2, warmup=2, log_every=4, sample_every=0, device="cpu", precision="fp32", val_split=0.25,
                      fim=0.0)
    train(cfg, out, console=quiet_console())
    return out


def genart_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """The real command line, run in this process: (exit code, stdout and stderr as one line)."""
    code, out, err = main_cli(monkeypatch, capsys, *args)
    return code, " ".join((out + err).split())


def test_roll_draws_every_piece_with_its_primer_marked(tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    from genart.data.music import read_midi
    from genart.io.images import read_png_text
    from genart.io.pianoroll import LEFT, MARK, ROLL_BG, layout
    from genart.io.verify import verify_file

    roll = tmp_path / "piece.png"
    code, out = genart_main(monkeypatch, capsys, "generate", tiny_run, "--out", tmp_path / "song.mid", "--n", "2",
                            "--bars", "2", "--seed", "5", "--primer-notes", "60 64 67 72", "--roll", roll,
                            "--device", "cpu")
    assert code == 0, out
    assert "piece.png" in out
    text = read_png_text(roll)
    assert text["AI-generated"] == "true" and json.loads(text["genart:pieces"]) == ["song-00.mid", "song-01.mid"]
    assert text["genart:seeds"].startswith("5")  # seeds 5-6 (a copy-guarded seed may be redrawn later)
    assert verify_file(roll).ok
    scores = [read_midi(tmp_path / f"song-0{k}.mid") for k in range(2)]
    panels = layout(scores)
    img = np.asarray(Image.open(roll).convert("RGB")).astype(int)
    assert img.shape[0] == panels[-1].bottom  # one panel per piece, stacked
    a = MARK[3] / 255
    shade = np.rint(np.array(ROLL_BG) * (1 - a) + np.array(MARK[:3]) * a).astype(int)
    for p in panels:  # (how many bars the briefly trained model added after the primer does not matter here)
        band = img[p.roll_top:p.roll_bottom]
        shaded = np.nonzero(np.all(band == shade, axis=-1))[1]
        assert len(shaded) > 100  # the primer's bar is shaded ...
        assert shaded.min() >= LEFT and shaded.max() <= LEFT + p.bar_px + 1  # ... and only the first bar
        # the primer's notes (60 64 67 72, a beat each) are drawn at their pitches in beats 1 to 4
        for beat, pitch in enumerate((60, 64, 67, 72)):
            x = (p.x(beat * p.bar_ticks // 4) + p.x((beat + 1) * p.bar_ticks // 4)) // 2
            y = p.y(pitch) + p.row // 2
            assert not np.all(img[y, x] == shade), (beat, pitch)
            assert shade[0] - img[y, x][0] > 60  # the first track's blue (under the shading) darkens red


def test_a_roll_that_is_not_png_is_a_one_line_error(tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out = genart_main(monkeypatch, capsys, "generate", tiny_run, "--out", tmp_path / "song.mid", "--bars", "1",
                            "--roll", tmp_path / "piece.jpg", "--device", "cpu")
    assert code == 2
    assert "error: --roll piece.jpg: a piano roll is a .png picture" in out and "hint: name it e.g. piece.png" in out
    assert "Traceback" not in out
    assert not list(tmp_path.iterdir())  # refused before any piece was generated


def test_wav_uses_the_general_midi_soundfont_by_default_and_none_forces_the_builtin_synthesiser(
        tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    if shutil.which("fluidsynth") is None:
        pytest.skip("FluidSynth is not installed (apt-get install fluidsynth; .ci/run installs it)")
    if not SOUNDFONT.is_file():
        pytest.skip(f"no General MIDI soundfont at {SOUNDFONT} (apt-get install fluid-soundfont-gm; .ci/run does)")
    for setting, synth, channels in ((str(SOUNDFONT), "FluidSynth with FluidR3_GM.sf2", 2),
                                     ("none", "genart built-in additive synthesiser", 1)):
        monkeypatch.setenv("GENART_SOUNDFONT", setting)
        out_dir = tmp_path / setting.strip("/").replace("/", "_")
        out_dir.mkdir()
        code, out = genart_main(monkeypatch, capsys, "generate", tiny_run, "--out", out_dir / "song.mid", "--bars", "1",
                                "--seed", "2", "--wav", "--device", "cpu")
        assert code == 0, out
        assert f"audio: {synth}" in out
        assert json.loads((out_dir / "song.wav.json").read_text())["synthesiser"] == synth
        with wave.open(str(out_dir / "song.wav")) as w:
            assert w.getnchannels() == channels and w.getsampwidth() == 2


def test_an_infilled_piece_marks_its_new_bars_between_the_primers() -> None:
    from types import SimpleNamespace

    from genart.kinds.music.generate import roll_marks

    marks = roll_marks(SimpleNamespace(primer_bars=4, infilled=(5, 8)))
    assert [(a, label) for a, _, label in marks] == [(1, "primer"), (5, "infilled"), (9, "primer")]
    assert marks[0][1] == 4 and marks[1][1] == 8
    assert [label for *_, label in roll_marks(SimpleNamespace(primer_bars=0, infilled=(1, 2)))] == ["infilled", "primer"]
