"""Piano rolls (genart.io.pianoroll): notes drawn where the MIDI has them, one colour per track, marked spans shaded,
bounded size, a signed PNG, and the JSON the studio redraws from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genart.core.errors import ConfigError

TPQ = 480


def score_of(tracks: list[tuple[list[tuple[float, float, int, int]], bool]], bpm: float = 120.0):
    """A symusic Score from tracks of (start beat, length in beats, pitch, velocity) notes; (notes, is_drum)."""
    from symusic import Note, Score, Tempo, Track

    s = Score(TPQ)
    s.tempos.append(Tempo(0, bpm))
    for notes, drum in tracks:
        t = Track(program=0, is_drum=drum)
        for start, length, pitch, vel in notes:
            t.notes.append(Note(int(start * TPQ), int(length * TPQ), pitch, vel))
        s.tracks.append(t)
    return s


def centre(panel, beat: float, beats: float, pitch: int) -> tuple[int, int]:
    """The pixel in the middle of a note's box."""
    x0, x1 = panel.x(beat * TPQ), panel.x((beat + beats) * TPQ)
    return (x0 + x1) // 2, panel.y(pitch) + panel.row // 2 - 1


MELODY = [(0, 2, 72, 127), (4, 1, 76, 127), (6, 1, 74, 30)]  # bar 1 beat 1, bar 2 beat 1, bar 2 beat 3 (quiet)
BASS = [(2, 2, 48, 127)]  # bar 1 beat 3
DRUMS = [(0, 0.25, 36, 127), (1, 0.25, 38, 127)]


def test_notes_are_drawn_where_the_midi_has_them_one_colour_per_track() -> None:
    from symusic import TimeSignature

    from genart.io.pianoroll import BACKGROUND, DRUM, PALETTE, ROLL_BG, draw_roll, layout

    score = score_of([(MELODY, False), (BASS, False), (DRUMS, True)])
    score.time_signatures.append(TimeSignature(9 * 4 * TPQ, 4, 4))  # an event after the notes: no empty bars drawn
    img = np.asarray(draw_roll([score], titles=["seed 3"]))
    panel = layout([score])[0]
    assert panel.bars == 2 and panel.lo <= 48 and panel.hi >= 76
    px = lambda xy: tuple(int(v) for v in img[xy[1], xy[0]])  # noqa: E731
    assert px(centre(panel, 0, 2, 72)) == PALETTE[0]  # loud notes: the track's colour itself
    assert px(centre(panel, 4, 1, 76)) == PALETTE[0]
    assert px(centre(panel, 2, 2, 48)) == PALETTE[1]  # the second track: the second colour
    assert PALETTE[0] != PALETTE[1]
    # where the MIDI has no note, the roll is empty: pitch 72 in bar 2, pitch 48 in bar 1 beat 1, pitch 60 anywhere
    for beat, pitch in ((4.5, 72), (0.5, 48), (2.5, 60), (5.5, 76)):
        assert px(centre(panel, beat, 0.1, pitch)) == ROLL_BG
    # a quiet note (velocity 30) is drawn fainter: between the background and the track's colour
    quiet = np.array(px(centre(panel, 6, 1, 74)))
    assert np.all(quiet >= np.minimum(PALETTE[0], ROLL_BG)) and np.abs(quiet - PALETTE[0]).sum() > 150
    # every pixel of the first track's colour lies inside its notes' boxes; higher notes are drawn higher
    ys, xs = np.nonzero(np.all(img == PALETTE[0], axis=-1))
    assert len(xs) > 50
    top_76, top_72 = panel.y(76), panel.y(72)
    assert set(np.unique(ys)) <= set(range(top_76, top_76 + panel.row)) | set(range(top_72, top_72 + panel.row))
    assert xs[ys < top_72].min() >= panel.x(4 * TPQ) and xs[ys >= top_72].max() < panel.x(2 * TPQ)
    # drums: ticks in a row under the notes, at the drum onsets
    row = img[panel.roll_bottom + 4]
    drum_x = np.nonzero(np.all(row == DRUM, axis=-1))[0]
    assert panel.x(0) in drum_x and panel.x(TPQ) in drum_x and panel.x(2 * TPQ) not in drum_x
    assert tuple(img[2, img.shape[1] - 2]) == BACKGROUND


def test_a_marked_span_is_shaded_and_only_there() -> None:
    from genart.io.pianoroll import draw_roll, layout

    scores = [score_of([(MELODY, False)]), score_of([(BASS, False)])]
    plain = np.asarray(draw_roll(scores)).astype(int)
    marked = np.asarray(draw_roll(scores, marked=[[(2, 2, "infilled")], None])).astype(int)
    p0, p1 = layout(scores)
    x_bar1, x_bar2 = centre(p0, 2.5, 0.1, 73)[0], centre(p0, 4.5, 0.1, 73)[0]
    y = centre(p0, 0, 1, 73)[1]
    assert (plain[y, x_bar1] == marked[y, x_bar1]).all()  # bar 1: untouched
    shade = marked[y, x_bar2] - plain[y, x_bar2]
    assert shade[2] < -20 and abs(shade[0]) <= 5  # bar 2: shaded (a warm tint: less blue)
    y1 = centre(p1, 0, 1, 50)[1]
    assert (plain[y1] == marked[y1]).all()  # the second piece has no marks
    # the two panels are stacked: the second starts below the first
    assert p1.top >= p0.bottom and marked.shape[0] == p1.bottom


def test_long_pieces_are_scaled_to_a_bounded_width() -> None:
    from genart.io.pianoroll import MAX_WIDTH, draw_roll

    long = score_of([([(b * 4, 4, 60 + b % 12, 90) for b in range(400)], False)])
    short = score_of([([(0, 4, 60, 90)], False)])
    img = draw_roll([long, short])
    assert img.width <= MAX_WIDTH and img.height < 800
    assert draw_roll([short]).width < 300  # one bar needs no 1600 pixels


def test_save_roll_writes_a_signed_png_with_provenance_and_refuses_other_suffixes(tmp_path: Path) -> None:
    from genart.io.images import read_png_text
    from genart.io.pianoroll import save_roll
    from genart.io.verify import verify_file

    score = score_of([(MELODY, False)])
    path = save_roll([score], tmp_path / "roll.png", {"run": "tiny", "seed": 3, "ai_generated": "true"},
                     marked=[[(1, 1, "primer")]], titles=["seed 3"])
    text = read_png_text(path)
    assert text["genart:run"] == "tiny" and text["AI-generated"] == "true"
    verdict = verify_file(path)
    assert verdict.ok, verdict.line
    with pytest.raises(ConfigError, match=r"\.png"):
        save_roll([score], tmp_path / "roll.jpg", {})
    assert not (tmp_path / "roll.jpg").exists()


def test_roll_json_gives_notes_and_bars_in_seconds() -> None:
    from symusic import Tempo

    from genart.io.pianoroll import PALETTE, roll_json

    score = score_of([(MELODY, False), (BASS, False)], bpm=120)
    score.tempos.append(Tempo(8 * TPQ, 60.0))  # from bar 3 on, a beat lasts a second
    score.tracks[0].notes[-1].time = 8 * TPQ  # the quiet note moves to bar 3
    j = roll_json(score)
    assert j["ticks_per_quarter"] == TPQ and j["beats_per_bar"] == 4
    assert j["bars"] == [0.0, 2.0, 4.0, 8.0]
    assert j["tempo"] == [[0, pytest.approx(0.5 / TPQ)], [8 * TPQ, pytest.approx(1.0 / TPQ)]]
    assert j["notes"] == [[0.0, 1.0, 72, 127, 0], [1.0, 2.0, 48, 127, 1], [2.0, 2.5, 76, 127, 0],
                          [4.0, 5.0, 74, 30, 0]]
    assert j["tracks"][1]["colour"] == "#" + bytes(PALETTE[1]).hex() and not j["tracks"][0]["drum"]
