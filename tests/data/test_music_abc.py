"""ABC collections: one piece per tune (named by number and title), broken tunes skipped by name, repeats
expanded, converted tunes cached per user; and the too-small-data warning before training."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mido
import pytest
from conftest import run_cli

CORPUS = Path(__import__("music21").__file__).parent / "corpus"
ONEILL = CORPUS / "oneills1850" / "0001-0050.abc"  # O'Neill's Music of Ireland (1850 tunes), tunes 1-50


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("GENART_CACHE", str(path))
    return path


def collection_slice(dst: Path, n: int) -> Path:
    """The first n tunes of a real published collection, copied as one file."""
    text = ONEILL.read_text(encoding="utf-8")
    starts = [m.start() for m in re.finditer(r"^X:", text, flags=re.M)]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text[:starts[n]], encoding="utf-8")
    return dst


HAND_MADE = """% a hand-made set: the file header's meter and length apply to every tune
M:6/8
L:1/8

X:1
T:Repeated
K:D
|:dAF GBd|cBA d3:|

X:2
K:G
% no title; a triplet, a grace note and a tie
GAB (3cBA|{c}B2 G2-G2|

X:3
T:Broken
M:3/4

X:4
T:Two voices
M:4/4
L:1/4
K:C
V:1
CDEF|GABc|
V:2
C,D,E,F,|G,A,B,C|

X:5
T:Chords in quotes
K:Am
"Am"A2B "G"c2d|"Am"e3 \\
e3|
"""


def notes_of(score) -> int:
    return sum(len(t.notes) for t in score.tracks)


def test_a_collection_reads_one_piece_per_tune_named_by_number_and_title(tmp_path: Path) -> None:
    from genart.data.music import read_pieces

    collection_slice(tmp_path / "tunes" / "oneill.abc", 30)
    pieces, report = read_pieces(str(tmp_path / "tunes"))
    names = [n for n, _ in pieces]
    assert len(pieces) == 30 and report["abc_tunes"] == 30 and report["skipped_files"] == []
    assert names[0] == "oneill.abc#1 The Enchanted Valley" and names[1] == "oneill.abc#2 Fare You Well"
    assert all(notes_of(s) > 20 for _, s in pieces)
    assert report["abc_repeats"].startswith("expanded") and "abc2midi" in report["abc_converter"]
    assert {s.time_signatures[0].numerator for _, s in pieces} >= {2, 3, 4, 6}  # not all 4/4
    few, _ = read_pieces(str(tmp_path / "tunes"), max_pieces=5)  # --max-pieces counts tunes
    assert [n for n, _ in few] == names[:5]


def test_a_broken_tune_is_skipped_by_number_and_title_and_the_rest_kept(tmp_path: Path) -> None:
    from genart.data.music import read_pieces

    root = tmp_path / "set"
    root.mkdir()
    latin1 = HAND_MADE + "\nX:6\nT:R\u00e9el \u00e0 Jean\nM:2/4\nK:A\nAB cd|e2 e2|\n"
    (root / "set.abc").write_bytes(latin1.encode("latin-1"))
    (root / "lone.abc").write_text("T:No X line\nM:3/4\nL:1/4\nK:G\nGAB|c2d|\n")  # one tune, X: forgotten
    (root / "notes.abc").write_text("just some words about tunes\n")
    pieces, report = read_pieces(str(root))
    by_name = dict(pieces)
    assert list(by_name) == ["lone.abc", "set.abc#1 Repeated", "set.abc#2", "set.abc#4 Two voices",
                             "set.abc#5 Chords in quotes", "set.abc#6 R\u00e9el \u00e0 Jean"]
    reasons = {s["file"]: s["reason"] for s in report["skipped_files"]}
    assert list(reasons) == ["notes.abc", "set.abc#3 Broken"] and reasons["set.abc#3 Broken"]
    assert "no tune" in reasons["notes.abc"]
    assert notes_of(by_name["lone.abc"]) == 5
    repeated = by_name["set.abc#1 Repeated"]
    assert notes_of(repeated) == 20  # 10 notes, played twice: the repeat is expanded
    assert (repeated.time_signatures[0].numerator, repeated.time_signatures[0].denominator) == (6, 8)  # file header
    assert notes_of(by_name["set.abc#2"]) == 9  # 7 notes, a triplet of 3 and a grace note; the tie joins two
    assert [len(t.notes) for t in by_name["set.abc#4 Two voices"].tracks] == [8, 8]
    chords = by_name["set.abc#5 Chords in quotes"]
    assert len(chords.tracks) == 1 and notes_of(chords) == 6  # guitar chords are not played; `\` continues


def test_converted_tunes_are_cached_and_read_again_without_the_converter(tmp_path: Path, own_cache: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import genart.data.abc as abc
    from genart.data.music import read_pieces

    collection_slice(tmp_path / "tunes" / "oneill.abc", 12)
    first, report = read_pieces(str(tmp_path / "tunes"))
    cached = list(own_cache.glob("abc-*/*.json"))
    assert len(cached) == 1 and report["abc_cached_tunes"] == 0

    def no_converter(tunes: list) -> list:
        raise AssertionError("the converter ran although the tunes are cached")

    monkeypatch.setattr(abc, "convert_tunes", no_converter)
    again, report2 = read_pieces(str(tmp_path / "tunes"))
    assert report2["abc_cached_tunes"] == 12 and report2["content_hash"] == report["content_hash"]
    assert [n for n, _ in again] == [n for n, _ in first]
    assert all(a.dumps_midi() == b.dumps_midi() for (_, a), (_, b) in zip(first, again, strict=True))
    with pytest.raises(AssertionError, match="converter ran"):  # another file's content is not in the cache
        collection_slice(tmp_path / "tunes" / "oneill.abc", 13)
        read_pieces(str(tmp_path / "tunes"))


def test_an_unwritable_cache_is_simply_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genart.data.music import read_pieces

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")  # fails for root too, unlike a chmod
    monkeypatch.setenv("GENART_CACHE", str(blocker / "cache"))
    collection_slice(tmp_path / "tunes" / "oneill.abc", 3)
    for _ in range(2):
        pieces, report = read_pieces(str(tmp_path / "tunes"))
        assert len(pieces) == 3 and report["abc_cached_tunes"] == 0
    assert blocker.read_text().startswith("a file")


def test_small_data_warning() -> None:
    from genart.data.music import small_data_warning

    one = small_data_warning(1, 0, 300)
    assert one is not None and one.startswith("only 1 piece: nothing can be held out, and the model will memorise it")
    assert "memorise" in (small_data_warning(6, 1, 3_000) or "")
    assert "none held out" in (small_data_warning(6, 0, 3_000) or "")
    assert "memorise" in (small_data_warning(200, 20, 5_000) or "")  # many pieces, but tiny ones
    assert small_data_warning(2_000, 200, 400_000) is None


def test_training_on_one_tiny_piece_warns_in_one_line_before_training(tmp_path: Path) -> None:
    root = tmp_path / "one"
    root.mkdir()
    mf = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    for i in range(32):
        pitch = [60, 62, 64, 65, 67, 69, 71, 72][i % 8]
        track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    mf.tracks.append(track)
    mf.save(str(root / "only.mid"))
    rc, out, err = run_cli("train", "music", "--data", root, "--out", tmp_path / "run", "--steps", "2", "--batch", "2",
                           "--bptt", "16", "--hidden", "16", "--embed", "8", "--layers", "1", "--warmup", "1",
                           "--sample-every", "0", "--fim", "0", "--device", "cpu")
    assert rc == 0, err
    lines = (out + err).splitlines()
    warned = [i for i, line in enumerate(lines) if "warning: only 1 piece: nothing can be held out" in line]
    assert len(warned) == 1 and "add more pieces" in lines[warned[0]]
    data_line = next(i for i, line in enumerate(lines) if line.startswith("data "))
    assert warned[0] > data_line
    report = json.loads((tmp_path / "run" / "data.json").read_text())
    assert report["warnings"] == [lines[warned[0]].split("warning: ", 1)[1]]
