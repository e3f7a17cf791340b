"""Filling a gap in text (--fim, generate --infill): tiny real models trained for a few hundred steps on a corpus so
regular that a right fill can be checked: "abcabc...". Also: old configs without `fim` load as fim 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import main_cli, quiet_console

import genart
from genart.core.errors import ConfigError
from genart.core.rundir import RunDir
from genart.kinds.text.config import TextConfig
from genart.kinds.text.vocab import CharVocab, vocab_from_json
from genart.models.infill import Markers, rearrange
from genart.train import train

torch.set_num_threads(1)

CYCLE = "abc"
# short windows (4 x bptt) and no dropout: about 800 steps teach a tiny LSTM where a middle meets its suffix
TINY = dict(layers=1, hidden=64, embed=32, batch=16, bptt=4, lr=1e-2, warmup=5, dropout=0.0, log_every=50,
            sample_every=0, device="cpu", threads=1, precision="fp32")


def consistent(text: str) -> bool:
    """Whether every character of `text` is followed by its successor in the cycle (the fill joins both sides)."""
    return all(CYCLE[(CYCLE.index(a) + 1) % len(CYCLE)] == b for a, b in zip(text, text[1:], strict=False))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("abc") / "abc.txt"
    path.write_text(CYCLE * 2000)
    return path


@pytest.fixture(scope="module")
def fim_run(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("fim") / "run"
    train(TextConfig(data=str(corpus), steps=800, fim=0.9, **TINY), out, console=quiet_console())
    return out


def test_windows_are_rearranged_prefix_suffix_middle_in_place() -> None:
    vocab = CharVocab.build("abcdefghijklmnopqrstuvwxyz").with_markers()
    m = vocab.markers
    assert vocab.size == 30 and m == Markers(26) and vocab.decode([0, m.pre, 1, m.eom]) == "ab"
    seq = torch.arange(26).repeat(4)[:81].view(1, 81).clone()
    keep = rearrange(seq, m, 1.0, 40, torch.Generator().manual_seed(0), suffix=8)
    row = seq[0].tolist()
    for start in (0, 40):  # each window: PRE prefix SUF suffix MID middle EOM, then the rest: the same 36 tokens
        w = row[start:start + 40]
        assert w[0] == m.pre and [w.count(k) for k in m.ids] == [1, 1, 1, 1]
        s, d, e = w.index(m.suf), w.index(m.mid), w.index(m.eom)
        prefix, suffix, middle, rest = w[1:s], w[s + 1:d], w[d + 1:e], w[e + 1:]
        assert prefix + middle + suffix + rest == (torch.arange(start, start + 36) % 26).tolist() and len(suffix) <= 8
    assert not keep[0, 39] and keep.sum() == 79  # the target PRE (a window starts) is not scored


def test_infill_through_the_cli_joins_both_sides(fim_run: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    cfg = RunDir.open(fim_run).config
    assert cfg.fim == 0.9 and vocab_from_json(RunDir.open(fim_run).resolved["vocab"]).size == 3 + 4
    out = tmp_path / "filled.txt"
    rc, _, err = main_cli(monkeypatch, capsys, "generate", fim_run, "--prime", "abcabca{}bcab", "--infill", "--n", "3",
                          "--temperature", "0", "--out", out)
    assert rc == 0, err
    texts = [t for t in out.read_text().split("\n") if t and not t.startswith("===")]
    assert len(texts) == 3 and all(t.startswith("abcabca") and t.endswith("bcab") for t in texts)
    assert all(set(t) <= set(CYCLE) for t in texts)  # no marker, nothing else
    side = json.loads((tmp_path / "filled.txt.json").read_text())
    assert side["infill"] == "{}" and side["prime"] == "abcabca{}bcab"
    # a marker of the user's choosing
    rc, stdout, err = main_cli(monkeypatch, capsys, "generate", fim_run, "--prime", "ab<gap>ab", "--infill", "<gap>",
                               "--temperature", "0")
    assert rc == 0, err
    text = stdout.split("\n")[0]
    assert text.startswith("ab") and text.endswith("ab") and set(text) <= set(CYCLE)


def test_a_regular_corpus_is_filled_right(fim_run: Path) -> None:
    """Every phase of the gap (its length modulo 3) is filled so that the text runs on unbroken: the model ends the
    middle where the suffix fits. Continuing the prefix for a fixed length (no FIM) fits one phase in three."""
    model = genart.load(str(fim_run))
    cases = [((CYCLE * 9)[a:a + 7], (CYCLE * 9)[a + 7 + gap:a + 12 + gap]) for a in range(3) for gap in (1, 2, 3)]
    filled = [model.sampler.infill(before, after, seeds=[0], temperature=0)[0] for before, after in cases]
    assert sum(consistent(t) for t in filled) >= 8, filled
    continued = [model.sampler.generate(prime=before, length=4, temperature=0)[0] + after for before, after in cases]
    assert sum(consistent(t) for t in continued) <= 3


def test_marker_errors_and_runs_not_trained_for_it(fim_run: Path, corpus: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    for prime, marker, says in [("abcabc", "{}", "exactly once"), ("a{}b{}c", "{}", "occurs 2 times"),
                                ("ab<>c", "<gap>", "'<gap>' must occur exactly once")]:
        rc, _, err = main_cli(monkeypatch, capsys, "generate", fim_run, "--prime", prime, "--infill", marker)
        assert rc == 2 and "Traceback" not in err and says in err.splitlines()[0], err
    rc, _, err = main_cli(monkeypatch, capsys, "generate", fim_run, "--infill")
    assert rc == 2 and "--prime is missing" in err, err
    plain = tmp_path / "plain"
    train(TextConfig(data=str(corpus), steps=2, fim=0.0, **TINY), plain, console=quiet_console())
    assert "fim" not in RunDir.open(plain).resolved["vocab"]  # no markers: the vocabulary is the corpus's own
    assert RunDir.open(plain).resolved["vocab_size"] == 3
    rc, _, err = main_cli(monkeypatch, capsys, "generate", plain, "--prime", "ab{}ab", "--infill")
    assert rc == 2 and err.splitlines() == ["error: this run was not trained for infilling", "hint: train with --fim 0.5"]
    with pytest.raises(ConfigError, match="not trained for infilling"):
        genart.load(str(plain)).sampler.infill("ab", "ab")


def test_old_configs_without_fim_load_and_resume_as_they_were(corpus: Path, tmp_path: Path) -> None:
    assert TextConfig.from_dict({"data": "x"}).fim == 0.0
    run = tmp_path / "old"
    train(TextConfig(data=str(corpus), steps=4, fim=0.0, **TINY), run, console=quiet_console())
    raw = json.loads((run / "config.json").read_text())
    del raw["config"]["fim"]  # as genart wrote it before the option existed
    (run / "config.json").write_text(json.dumps(raw))
    assert RunDir.open(run).config.fim == 0.0
    assert genart.load(str(run)).generate(prime="ab", length=5, seed=0)[0].startswith("ab")
    train(TextConfig(data=str(corpus), steps=8, fim=0.0, **TINY), run, console=quiet_console())
    assert genart.load(str(run)).step == 8  # resumed (the same options) and trained on


def test_fim_training_resumes_exactly(corpus: Path, tmp_path: Path) -> None:
    """The rearranged windows come from a seed the cursor keeps: stopping and resuming changes nothing."""
    from genart.core.checkpoints import load_checkpoint
    from genart.train import Trainer

    cfg = lambda: TextConfig(data=str(corpus), steps=100, fim=0.5, **{**TINY, "hidden": 16})  # noqa: E731
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(cfg(), straight, console=quiet_console())
    trainer = Trainer(cfg(), split, console=quiet_console())
    step = trainer.model.train_step

    def interrupt_after_90(s: int) -> dict[str, torch.Tensor]:  # a pass is 84 steps: resume in the next
        trainer._interrupted = s == 89  # what Ctrl-C does: the loop saves after this step and stops
        return step(s)

    trainer.model.train_step = interrupt_after_90  # type: ignore[method-assign]
    trainer.fit()
    train(cfg(), split, console=quiet_console())
    a = load_checkpoint(straight / "checkpoints" / "last.safetensors")[0]["model"]
    b = load_checkpoint(split / "checkpoints" / "last.safetensors")[0]["model"]
    assert a["cursor"] == b["cursor"] and a["cursor"]["fim_seed"] != 0 and a["cursor"]["epoch"] >= 1
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
