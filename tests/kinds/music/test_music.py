"""The music kind: ingest and tokenisation, training, sampling, MIDI/WAV outputs and the statistics."""

from __future__ import annotations

import json
import math
import wave
from pathlib import Path

import mido
import numpy as np
import pytest
from conftest import quiet_console, run_cli

from genart.core.errors import DataError

TPB = 480  # ticks per beat of the MIDI files made here


pytestmark = pytest.mark.usefixtures("music_cache")  # converted chorales: a cache of this module's own


# --- MIDI made here ----------------------------------------------------------------------------------------

def midi_file(path: Path, notes: list[tuple[float, float, int]], type_: int = 1, channel: int = 0,
              tempo_changes: list[tuple[float, int]] | None = None, program: int = 0) -> Path:
    """A MIDI file of (start beat, length in beats, pitch) notes; type 1 puts a conductor track first."""
    events = []
    for start, length, pitch in notes:
        events.append((int(start * TPB), 1, mido.Message("note_on", note=pitch, velocity=90, channel=channel)))
        events.append((int((start + length) * TPB), 0, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
    for beat, bpm in tempo_changes or [(0, 120)]:
        events.append((int(beat * TPB), -1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    events.sort(key=lambda e: (e[0], e[1]))
    mf = mido.MidiFile(type=type_, ticks_per_beat=TPB)
    track = mido.MidiTrack()
    if channel != 9:
        track.append(mido.Message("program_change", program=program, channel=channel, time=0))
    now = 0
    for tick, _, msg in events:
        if type_ == 1 and msg.is_meta:
            continue
        track.append(msg.copy(time=tick - now))
        now = tick
    if type_ == 1:
        conductor = mido.MidiTrack()
        now = 0
        for tick, _, msg in events:
            if msg.is_meta:
                conductor.append(msg.copy(time=tick - now))
                now = tick
        mf.tracks.append(conductor)
    mf.tracks.append(track)
    mf.save(str(path))
    return path


def scale_notes(bars: int = 2) -> list[tuple[float, float, int]]:
    pitches = [60, 62, 64, 65, 67, 69, 71, 72]
    return [(i, 1.0, pitches[i % 8]) for i in range(4 * bars)]


def onset_multiset(score) -> list[tuple[int, int]]:
    tpq = score.ticks_per_quarter
    return sorted((int(n.pitch), round(n.time * 4 / tpq)) for t in score.tracks for n in t.notes)


# --- tokenisation ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["remi", "tsd"])
def test_round_trip_keeps_the_notes_of_made_midi(tmp_path: Path, name: str) -> None:
    from genart.data.music import read_midi
    from genart.kinds.music.data import MusicVocab

    notes = scale_notes(2) + [(0, 4, 48), (4, 4, 43)]  # a melody over a bass: polyphony
    score = read_midi(midi_file(tmp_path / "a.mid", notes))
    vocab = MusicVocab(name)
    back, invalid = vocab.decode(vocab.encode(score))
    assert invalid == 0
    assert onset_multiset(back) == onset_multiset(score)


def test_round_trip_keeps_the_notes_of_a_chorale() -> None:
    from symusic import Score

    from genart.data.music import builtin_pieces
    from genart.kinds.music.data import MusicVocab

    pieces, report = builtin_pieces("bach", max_pieces=2)
    assert len(pieces) == 2 and report["files"] == 2
    score = Score.from_midi(pieces[0][1])
    assert len(score.tracks) >= 4  # four voices, all kept
    vocab = MusicVocab("remi")
    back, invalid = vocab.decode(vocab.encode(score))
    assert invalid == 0
    assert onset_multiset(back) == onset_multiset(score)


def test_ill_formed_sequences_decode_with_invalid_tokens_counted() -> None:
    from genart.kinds.music.data import MusicVocab

    vocab = MusicVocab("remi")
    v = vocab.tokenizer.vocab
    good = [v["Bar_None"], v["Position_0"], v["Program_0"], v["Pitch_60"], v["Velocity_95"], v["Duration_1.0.4"]]
    bad = [v["Pitch_64"], v["Duration_1.0.4"], v["Velocity_95"], *good, v["Pitch_67"], v["EOS_None"], 10_000, -3]
    score, invalid = vocab.decode(bad)
    assert invalid > 0
    assert [n.pitch for t in score.tracks for n in t.notes] == [60]
    empty, invalid = vocab.decode([])
    assert invalid == 0 and empty.note_num() == 0


# --- ingest ------------------------------------------------------------------------------------------------

def messy_music_folder(root: Path) -> Path:
    root.mkdir()
    (root / "sub").mkdir()
    midi_file(root / "type0.mid", scale_notes(2), type_=0)
    midi_file(root / "type1.mid", scale_notes(3), type_=1)
    midi_file(root / "sub" / "tempo.midi", scale_notes(2), tempo_changes=[(0, 90), (3, 140), (5, 70)])
    midi_file(root / "drums.mid", [(i * 0.5, 0.25, 36 + (i % 2) * 2) for i in range(16)], channel=9)
    midi_file(root / "onenote.mid", [(0, 1, 60)])
    raw = (root / "type1.mid").read_bytes()
    (root / "truncated.mid").write_bytes(raw[: len(raw) - 12])
    (root / "empty.mid").write_bytes(b"")
    (root / "text.mid").write_text("this is not music\n")
    (root / "readme.txt").write_text("notes\n")
    (root / "tune.abc").write_text("X:1\nT:scale\nM:4/4\nL:1/4\nK:C\nCDEF GABc|cBAG FEDC|\n")
    return root


def test_a_messy_folder_ingests_with_a_report(tmp_path: Path) -> None:
    from genart.kinds.music.config import MusicConfig
    from genart.kinds.music.data import load_music

    root = messy_music_folder(tmp_path / "messy")
    data = load_music(MusicConfig(data=str(root), val_split=0.0), {})
    r = data.report
    reasons = {s["file"]: s["reason"] for s in r["skipped_files"]}
    assert sorted(r["used_files"]) == ["drums.mid", "sub/tempo.midi", "tune.abc", "type0.mid", "type1.mid"]
    assert "truncated" in reasons["truncated.mid"]
    assert "empty" in reasons["empty.mid"]
    assert "not a MIDI file" in reasons["text.mid"]
    assert "too short" in reasons["onenote.mid"]
    assert "not a music file" in reasons["readme.txt"]
    assert r["files"] == 10 and r["used"] == 5 and r["skipped"] == 5 and r["tokens"] > 100
    assert r["summary"].startswith("10 files, 5 usable pieces")
    dropped = load_music(MusicConfig(data=str(root), val_split=0.0, drums="drop"), {})
    assert "no notes" in {s["file"]: s["reason"] for s in dropped.report["skipped_files"]}["drums.mid"]


def test_tokens_are_cached_per_data_set_and_a_damaged_cache_is_remade(tmp_path: Path, monkeypatch) -> None:
    from genart.kinds.music.config import MusicConfig
    from genart.kinds.music.data import MusicVocab, load_music

    monkeypatch.setenv("GENART_CACHE", str(tmp_path / "cache"))
    calls = []
    encode = MusicVocab.encode
    monkeypatch.setattr(MusicVocab, "encode", lambda self, score: calls.append(1) or encode(self, score))
    root = messy_music_folder(tmp_path / "messy")
    first = load_music(MusicConfig(data=str(root), val_split=0.0), {})
    assert len(calls) == 6  # the six readable pieces, the too-short one among them
    [cache] = (tmp_path / "cache" / "tokens").glob("*.npz")
    again = load_music(MusicConfig(data=str(root), val_split=0.0), {})
    assert len(calls) == 6, "the second read tokenised again instead of reading the cache"
    assert again.train_ids.tolist() == first.train_ids.tolist()
    assert again.report["skipped_files"] == first.report["skipped_files"]
    cache.write_bytes(b"damaged")
    remade = load_music(MusicConfig(data=str(root), val_split=0.0), {})
    assert len(calls) == 12 and remade.train_ids.tolist() == first.train_ids.tolist()
    load_music(MusicConfig(data=str(root), val_split=0.0, tokenizer="tsd"), {})  # another tokenizer: its own file
    assert len(list((tmp_path / "cache" / "tokens").glob("*.npz"))) == 2


def test_transposition_augments_training_pieces_only(tmp_path: Path) -> None:
    from genart.kinds.music.config import MusicConfig
    from genart.kinds.music.data import load_music

    root = tmp_path / "f"
    root.mkdir()
    for i in range(4):
        midi_file(root / f"p{i}.mid", scale_notes(2 + i))
    plain = load_music(MusicConfig(data=str(root), val_split=0.25), {})
    aug = load_music(MusicConfig(data=str(root), val_split=0.25, transpose="-2..1"), {})
    assert plain.report["train_pieces"] == 3 and plain.report["val_pieces"] == 1
    assert aug.report["train_tokens"] == 4 * plain.report["train_tokens"]
    assert aug.report["val_tokens"] == plain.report["val_tokens"]


def test_no_usable_piece_is_a_one_line_error(tmp_path: Path) -> None:
    from genart.kinds.music.config import MusicConfig
    from genart.kinds.music.data import load_music

    root = tmp_path / "bad"
    root.mkdir()
    (root / "x.mid").write_text("nope")
    with pytest.raises(DataError, match="no usable piece"):
        load_music(MusicConfig(data=str(root)), {})
    rc, out, err = run_cli("train", "music", "--data", root, "--out", tmp_path / "run", "--steps", "1")
    assert rc == 2 and "no usable piece" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "checkpoints").exists()


# --- training and sampling ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chorale_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from genart.kinds.music.config import MusicConfig
    from genart.train import train

    out = tmp_path_factory.mktemp("music") / "bach"
    cfg = MusicConfig(data="builtin:bach", max_pieces=6, steps=60, batch=8, bptt=64, hidden=64, embed=32, layers=1,
                      lr=1e-2, warmup=10, log_every=5, sample_every=30, device="cpu", precision="fp32", val_split=0.2)
    train(cfg, out, console=quiet_console())
    return out


def test_training_loss_falls_on_a_few_chorales(chorale_run: Path) -> None:
    rows = [json.loads(line) for line in (chorale_run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert losses[-1] < losses[0] - 1.0
    assert any("eval_val_loss" in r for r in rows)
    assert (chorale_run / "checkpoints" / "best.safetensors").exists()
    assert list((chorale_run / "samples").glob("*.mid"))
    data = json.loads((chorale_run / "data.json").read_text())
    assert data["pieces"] == 6 and data["val_pieces"] == 1 and data["files"] == 6
    from genart.info import run_info

    assert run_info(chorale_run)["best_val_loss"] > 0


def test_generation_is_reproducible_and_primed_generation_starts_with_the_primer(chorale_run: Path, tmp_path: Path) -> None:
    import genart

    model = genart.load(str(chorale_run))
    a = model.generate(n=2, bars=2, seed=3, temperature=0.9, top_k=20, top_p=0.95)
    b = model.generate(n=1, bars=2, seeds=[4], temperature=0.9, top_k=20, top_p=0.95)
    assert a[1].ids == b[0].ids
    primer = midi_file(tmp_path / "primer.mid", [(0, 1, 60), (1, 1, 64), (2, 1, 67), (3, 1, 72)])
    piece = model.generate(n=1, bars=2, primer=primer, seed=1)[0]
    notes = sorted((n.time, n.pitch) for t in piece.score.tracks for n in t.notes)
    tpq = piece.score.ticks_per_quarter
    assert [p for t, p in notes if t < 4 * tpq][:4] == [60, 64, 67, 72]
    assert piece.primer_bars == 1
    assert piece.score.end() <= (1 + 2) * 4 * tpq
    listed = model.generate(n=1, bars=1, primer_notes="62 65", seed=0)[0]
    first = sorted((n.time, n.pitch) for t in listed.score.tracks for n in t.notes)[:2]
    assert [p for _, p in first] == [62, 65]


def test_cli_generate_writes_midi_wav_and_provenance(chorale_run: Path, tmp_path: Path) -> None:
    from genart.io.midi import read_provenance

    out = tmp_path / "song.mid"
    rc, stdout, err = run_cli("generate", chorale_run, "--out", out, "--bars", "2", "--n", "2", "--seed", "4", "--wav",
                              "--temperature", "0.9", "--top-k", "20", "--top-p", "0.95")
    assert rc == 0, err
    assert "pitch_class_entropy" in stdout and "invalid token" in stdout
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["song-00.mid", "song-00.wav", "song-00.wav.json", "song-01.mid", "song-01.wav", "song-01.wav.json"]
    prov = read_provenance(tmp_path / "song-01.mid")
    assert prov["seed"] == 5 and prov["ai_generated"] == "true" and "invalid_tokens" in prov
    sidecar = json.loads((tmp_path / "song-00.wav.json").read_text())
    assert sidecar["sample_rate"] == 44100 and sidecar["seed"] == 4
    rc, _, err = run_cli("generate", chorale_run, "--out", tmp_path / "x.png")
    assert rc == 2 and ".mid" in err


# --- audio ---------------------------------------------------------------------------------------------------

def test_the_wav_is_valid(tmp_path: Path) -> None:
    from genart.data.music import read_midi
    from genart.io.audio import SAMPLE_RATE, render_wav

    score = read_midi(midi_file(tmp_path / "a.mid", scale_notes(1) + [(0, 4, 48), (0, 4, 52), (0, 4, 55)]))
    path = render_wav(score, tmp_path / "a.wav", {"seed": 0})
    with wave.open(str(path)) as w:
        assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        frames = w.getnframes()
        x = np.frombuffer(w.readframes(frames), dtype="<i2").astype(np.float64) / 32767
    assert abs(frames / SAMPLE_RATE - (2.0 + 0.15)) < 0.05  # 4 beats at 120 bpm, plus the release
    assert 0.5 < np.abs(x).max() <= 1.0
    assert json.loads((tmp_path / "a.wav.json").read_text())["synthesiser"].startswith("genart")


# --- statistics ----------------------------------------------------------------------------------------------

def test_statistics_of_hand_made_pieces(tmp_path: Path) -> None:
    from genart.data.music import read_midi
    from genart.metrics.music import distance, statistics

    scale = statistics(read_midi(midi_file(tmp_path / "s.mid", scale_notes(2))))
    assert scale["pitch_range"] == 12
    assert scale["pitch_class_entropy"] == pytest.approx(2.75)
    assert scale["scale_consistency"] == 1.0
    assert scale["polyphony"] == 1.0
    assert scale["empty_beat_rate"] == 0.0
    assert scale["groove_consistency"] == 1.0
    assert scale["notes_per_bar"] == 4.0
    # a C major chord for a bar, a silent bar, then one C: 3 bars, 9 beats up to the last note's end
    sparse = statistics(read_midi(midi_file(tmp_path / "c.mid", [(0, 4, 60), (0, 4, 64), (0, 4, 67), (8, 1, 60)])))
    assert sparse["pitch_range"] == 7
    assert sparse["pitch_class_entropy"] == pytest.approx(1.5)
    assert sparse["polyphony"] == pytest.approx((16 * 3 + 4) / 20)
    assert sparse["empty_beat_rate"] == pytest.approx(4 / 9)
    assert sparse["groove_consistency"] == pytest.approx(1 - 1 / 16)
    assert sparse["notes_per_bar"] == pytest.approx(4 / 3)
    chromatic = statistics(read_midi(midi_file(tmp_path / "k.mid", [(i, 1, 60 + i) for i in range(12)])))
    assert chromatic["pitch_class_entropy"] == pytest.approx(math.log2(12))
    assert chromatic["scale_consistency"] == pytest.approx(7 / 12)
    assert distance(3.0, {"mean": 2.98, "sd": 0.11}) == pytest.approx(0.02 / 0.11)


def test_evaluate_a_music_run(chorale_run: Path) -> None:
    from genart.evaluate import evaluate

    result = evaluate(chorale_run, n=3, length=1, console=quiet_console())
    keys = {f["key"]: f for f in result["figures"]}
    assert {"val_loss", "pitch_class_entropy_distance", "longest_copy", "invalid_tokens"} <= set(keys)
    assert keys["pitch_range_distance"]["floor"] is not None and keys["pitch_range_distance"]["ceiling"] is not None
    assert (chorale_run / "eval" / "sample-00.wav").exists() and "<audio" in (chorale_run / "evaluation.html").read_text()
