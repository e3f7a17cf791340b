"""Bach's tonality: pieces moved to C major / A minor before training, and statistics shown beside the data's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from genart.core.errors import ConfigError
from genart.data.music_keys import estimate_key, normalise_key, pitch_class_histogram
from genart.metrics.music import comparison_table, statistics

TPQ = 480
G_MAJOR = [67, 69, 71, 72, 74, 76, 78, 79]
E_MINOR = [64, 66, 67, 69, 71, 72, 74, 76]


def piece(scale: list[int], chords: list[list[int]], shift: int = 0) -> Any:
    """A scale up and down, then chords of a beat each (pitches moved by `shift`)."""
    from symusic import Note, Score, Track

    score = Score(TPQ)
    track = Track(program=0)
    t = 0
    for p in [*scale, *reversed(scale)]:
        track.notes.append(Note(t, TPQ // 2, p + shift, 80))
        t += TPQ // 2
    for chord in chords:
        for p in chord:
            track.notes.append(Note(t, TPQ, p + shift, 80))
        t += TPQ
    score.tracks.append(track)
    return score


def g_major(shift: int = 0) -> Any:
    return piece(G_MAJOR, [[55, 59, 62, 67], [48, 60, 64, 67], [50, 62, 66, 69], [55, 59, 62, 67]], shift)


def key_of(score: Any) -> tuple[int, str]:
    tonic, mode, _ = estimate_key(pitch_class_histogram(score))
    return tonic, mode


def test_a_piece_in_g_major_moves_to_c_and_one_in_c_stays() -> None:
    score = g_major()
    assert key_of(score) == (7, "major")
    moved, k = normalise_key(score)
    assert k == 5  # G up a fourth to C (the nearer way)
    assert key_of(moved) == (0, "major")
    assert sorted(n.pitch for n in moved.tracks[0].notes) == sorted(n.pitch + 5 for n in score.tracks[0].notes)
    again, k2 = normalise_key(moved)  # a piece already in C stays as it is
    assert k2 == 0 and list(again.tracks[0].notes) == list(moved.tracks[0].notes)
    # the key-invariant statistics do not change
    before, after = statistics(score), statistics(moved)
    for name in ("pitch_class_entropy", "scale_consistency", "polyphony"):
        assert after[name] == pytest.approx(before[name])


def test_minor_goes_to_a_minor_and_a_piece_at_the_top_moves_down() -> None:
    minor = piece(E_MINOR, [[52, 59, 64, 67], [57, 60, 64, 69], [59, 63, 66, 71], [52, 59, 64, 67]])
    assert key_of(minor) == (4, "minor")
    moved, k = normalise_key(minor)
    assert k == 5 and key_of(moved) == (9, "minor")
    high = g_major(shift=36)  # up to 115 + 5 would leave the piano: G goes down a fifth instead
    assert max(n.pitch for n in high.tracks[0].notes) + 5 >= 109
    moved, k = normalise_key(high)
    assert k == -7 and key_of(moved) == (0, "major")


def test_the_comparison_names_mean_sd_and_distance_beside_the_data() -> None:
    outputs = [{"pitch_class_entropy": 3.0, "scale_consistency": 0.90}, {"pitch_class_entropy": 3.2,
                                                                         "scale_consistency": 0.88}]
    data = {"pitch_class_entropy": {"mean": 2.98, "sd": 0.11}, "scale_consistency": {"mean": 0.935, "sd": 0.034}}
    table = comparison_table(outputs, data)
    header, *rows = table.splitlines()
    assert "outputs mean" in header and "data mean +- sd" in header and "distance (sd)" in header
    row = next(r for r in rows if r.startswith("pitch_class_entropy"))
    assert "3.100" in row and "2.980 +- 0.110" in row and "1.09" in row  # (3.1 - 2.98) / 0.11
    row = next(r for r in rows if r.startswith("scale_consistency"))
    assert "0.890" in row and "0.935 +- 0.034" in row and "1.32" in row


def test_keys_option_defaults_to_c_and_old_runs_keep_their_keys(tmp_path: Path) -> None:
    from genart.kinds.music.config import MusicConfig
    from genart.kinds.music.data import load_music

    assert MusicConfig(data="x").keys == "c"
    old = MusicConfig(data="x").to_dict()
    old.pop("keys")
    assert MusicConfig.from_dict(old).keys == "keep"  # a run saved before the option was trained as written
    with pytest.raises(ConfigError):
        MusicConfig(data="x", keys="d").validate()
    folder = tmp_path / "songs"
    folder.mkdir()
    for k in range(3):
        g_major().dump_midi(str(folder / f"g{k}.mid"))
    cfg = MusicConfig(data=str(folder), val_split=0.0, fim=0.0)
    data = load_music(cfg, {})
    assert all(key_of(s) == (0, "major") for s in data.train_pieces)
    assert "3 of 3 pieces transposed" in data.report["keys"]
    kept = load_music(MusicConfig(data=str(folder), val_split=0.0, fim=0.0, keys="keep"), {})
    assert all(key_of(s) == (7, "major") for s in kept.train_pieces) and "keys" not in kept.report


def test_generate_evaluate_and_the_sampler_share_the_default_temperature() -> None:
    import inspect

    from genart.kinds.music import evaluate, generate
    from genart.kinds.music.model import MusicSampler

    default = inspect.signature(MusicSampler.generate).parameters["temperature"].default
    assert float(generate.DEFAULT_TEMPERATURE) == float(evaluate.TEMPERATURE) == float(default) == 0.8
