"""Regenerating bars of a piece (--fim, generate --primer piece.mid --infill 5-8): a tiny real model trained for a few
steps on a few chorales; the bars outside the range stay the primer's, the range gets notes; the errors are clean."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest
import torch
from conftest import main_cli, quiet_console

import genart
from genart.core.errors import ConfigError
from genart.core.rundir import RunDir
from genart.kinds.music.config import MusicConfig
from genart.train import train

torch.set_num_threads(1)
TPB = 480
BARS = 12
TINY = dict(data="builtin:bach", max_pieces=6, batch=8, bptt=32, hidden=64, embed=32, layers=1, lr=1e-2, warmup=5,
            log_every=50, sample_every=0, device="cpu", threads=1, precision="fp32", val_split=0.2)


pytestmark = pytest.mark.usefixtures("music_cache")  # converted chorales: a cache of this module's own


def primer_file(path: Path, bars: int = BARS) -> Path:
    """A piece of `bars` bars of 4/4: a rising scale in quarter notes over a held bass note per bar."""
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    events = []
    for b in range(bars):
        events += [(b * 4 * TPB, "on", 48 + b % 5), ((b + 1) * 4 * TPB - TPB // 2, "off", 48 + b % 5)]
        for k in range(4):
            pitch = scale[(4 * b + k) % 8]
            events += [((4 * b + k) * TPB, "on", pitch), ((4 * b + k + 1) * TPB - TPB // 4, "off", pitch)]
    events.sort(key=lambda e: (e[0], e[1] == "on"))
    mf = mido.MidiFile(type=0, ticks_per_beat=TPB)
    track = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)])
    now = 0
    for tick, kind, pitch in events:
        msg = "note_on" if kind == "on" else "note_off"
        track.append(mido.Message(msg, note=pitch, velocity=80 if kind == "on" else 0, time=tick - now))
        now = tick
    mf.tracks.append(track)
    mf.save(str(path))
    return path


def notes(score, lo: float, hi: float) -> list[tuple[float, float, int]]:
    """(start beat, length in beats, pitch) of the notes starting in beats [lo, hi)."""
    tpq = score.ticks_per_quarter
    return sorted((n.time / tpq, n.duration / tpq, n.pitch) for t in score.tracks for n in t.notes
                  if lo <= n.time / tpq < hi)


@pytest.fixture(scope="module")
def fim_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("music-fim") / "run"
    train(MusicConfig(steps=40, fim=0.9, **TINY), out, console=quiet_console())
    return out


def test_infill_keeps_the_other_bars_and_fills_the_range(fim_run: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    from symusic import Score

    from genart.io.midi import read_provenance

    model = genart.load(str(fim_run))
    assert model.sampler.vocab.size == len(model.sampler.vocab.tokenizer) + 4 == RunDir.open(fim_run).resolved["vocab_size"]
    primer = primer_file(tmp_path / "piece.mid")
    rc, out, err = main_cli(monkeypatch, capsys, "generate", fim_run, "--primer", primer, "--infill", "5-8", "--n", "2",
                            "--out", tmp_path / "filled.mid", "--copies")
    assert rc == 0, err
    assert "bars 5-8 of piece.mid written anew" in out + err
    # the primer as the model reads it (quantised to its grid): the reference for the bars kept
    ref = model.sampler.vocab.decode(model.sampler.primer_ids(primer))[0]
    for path in (tmp_path / "filled-00.mid", tmp_path / "filled-01.mid"):
        score = Score(str(path))
        assert notes(score, 0, 16) == notes(ref, 0, 16)  # bars 1-4
        assert notes(score, 32, 4 * BARS) == notes(ref, 32, 4 * BARS)  # bars 9-12
        assert notes(score, 16, 32)  # bars 5-8: notes the model wrote
        prov = read_provenance(path)
        assert prov["infill"] == "5-8" and prov["primer"] == str(primer)
    pieces = model.sampler.infill(primer, 1, 2, seeds=[3, 4])
    assert [p.infilled for p in pieces] == [(1, 2), (1, 2)] and all(p.bars == 2 for p in pieces)
    assert pieces[0].ids != pieces[1].ids and model.sampler.infill(primer, 1, 2, seeds=[4])[0].ids == pieces[1].ids
    assert all(notes(p.score, 8, 4 * BARS) == notes(ref, 8, 4 * BARS) for p in pieces)
    markers = set(model.sampler.vocab.markers.ids)
    assert not markers & set(pieces[0].ids)  # the markers never reach a piece


def test_infill_errors_are_clean(fim_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture) -> None:
    primer = primer_file(tmp_path / "piece.mid")
    for args, says in [(["--infill", "5-8"], "--infill needs --primer"),
                       (["--primer", primer, "--infill", "11-14"], "reaches beyond the primer, which has 12 bars"),
                       (["--primer", primer, "--infill", "5-x"], "is not a range of bars"),
                       (["--primer", primer, "--infill", "8-5"], "is not a range of bars")]:
        rc, _, err = main_cli(monkeypatch, capsys, "generate", fim_run, *args, "--out", tmp_path / "x.mid")
        assert rc == 2 and "Traceback" not in err and says in err.splitlines()[0], err
    plain = tmp_path / "plain"
    train(MusicConfig(steps=1, fim=0.0, **TINY), plain, console=quiet_console())
    assert RunDir.open(plain).resolved["vocab_size"] == len(genart.load(str(plain)).sampler.vocab.tokenizer)
    rc, _, err = main_cli(monkeypatch, capsys, "generate", plain, "--primer", primer, "--infill", "5-8", "--out",
                          tmp_path / "x.mid")
    assert rc == 2 and err.splitlines() == ["error: this run was not trained for infilling", "hint: train with --fim 0.5"]
    with pytest.raises(ConfigError, match="not trained for infilling"):
        genart.load(str(plain)).sampler.infill(primer, 5, 8)
    assert MusicConfig.from_dict({"data": "builtin:bach"}).fim == 0.0  # a config.json from before the option
