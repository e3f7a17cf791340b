"""The text kind: corpus ingest, tokenisation, the recurrent model, training, sampling, fine-tuning, the CLI.

Tiny real models (one small LSTM layer) on real text: a slice of the built-in Shakespeare and a few classical
Chinese poems."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from conftest import run_cli
from rich.console import Console

import genart
from genart.core.checkpoints import checkpoint_info, load_checkpoint
from genart.core.errors import ConfigError, DataError, GenartError, RunError
from genart.core.files import read_json
from genart.kinds.text.config import TextConfig
from genart.kinds.text.data import MIN_CHARS, builtin_text, decode_bytes, read_corpus, tokenise
from genart.kinds.text.vocab import BPEVocab, CharVocab
from genart.models.recurrent import RecurrentLM, Stepper
from genart.models.sequence_sampling import parse_temperature, pick, sample_tokens
from genart.models.sequence_training import sequence_nll
from genart.train import Trainer, train

torch.set_num_threads(1)

# A tiny network: trains a few hundred steps a second on one thread.
TINY = dict(layers=1, hidden=48, embed=16, batch=8, bptt=32, lr=1e-2, warmup=5, log_every=5, sample_every=0,
            device="cpu", threads=1)
TINY_CLI = ["--layers", "1", "--hidden", "48", "--embed", "16", "--batch", "8", "--bptt", "32", "--lr", "0.01",
            "--warmup", "5", "--log-every", "5", "--device", "cpu", "--threads", "1"]

POEMS = """静夜思
床前明月光，疑是地上霜。举头望明月，低头思故乡。

春晓
春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。

登鹳雀楼
白日依山尽，黄河入海流。欲穷千里目，更上一层楼。

相思
红豆生南国，春来发几枝。愿君多采撷，此物最相思。

江雪
千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。
"""


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def train_text(out: Path, data: str | Path, **options) -> Path:
    cfg = TextConfig(data=str(data), **{**TINY, **options})
    train(cfg, out, console=quiet())
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 30,000 characters of the built-in Shakespeare, as a file."""
    text, _ = builtin_text("shakespeare")
    path = tmp_path_factory.mktemp("corpus") / "plays.txt"
    path.write_text(text[:30_000], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    """A tiny char LSTM trained 120 steps on the corpus, evaluated every 40."""
    return train_text(tmp_path_factory.mktemp("text") / "run", corpus, steps=120, sample_every=40)


# --- data ----------------------------------------------------------------------------------------------

def test_builtin_shakespeare_is_plain_text() -> None:
    text, report = builtin_text("shakespeare")
    assert len(text) > 4_000_000 and report["files"] == report["used"] >= 36
    assert "HAMLET:\n" in text and "To be, or not to be" in text
    assert not any(marker in text for marker in ("**", "#", "_Enter", "\\["))
    assert report["licence"].startswith("public domain") and report["made_by"] == "scripts/make_shakespeare.py"


def test_bom_and_crlf_are_normalised(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbfline one\r\nline two\rline three\r\n")
    text, report = read_corpus(str(tmp_path / "a.txt"))
    assert text == "line one\nline two\nline three\n"
    assert report["used"] == 1


def test_other_encodings(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes("café crème\n".encode("latin-1"))
    assert read_corpus(str(tmp_path / "latin.txt"), "latin-1")[0] == "café crème\n"
    (tmp_path / "u16.txt").write_text("漢字 and text\n", encoding="utf-16")
    assert read_corpus(str(tmp_path / "u16.txt"), "utf-16")[0] == "漢字 and text\n"
    with pytest.raises(DataError, match=r"byte 0xff at offset 0; it starts with a UTF-16 byte-order mark: try --encoding utf-16"):
        read_corpus(str(tmp_path / "u16.txt"))
    for bad in ("klingon-8", "base64", ""):
        with pytest.raises(ConfigError, match="not a text encoding"):
            read_corpus(str(tmp_path / "latin.txt"), bad)


def test_bad_bytes_name_the_file_and_offset(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes("plain start, then café\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.txt is not valid utf-8 text: byte 0xe9 at offset 21"):
        read_corpus(str(tmp_path / "latin.txt"))
    (tmp_path / "blob.txt").write_bytes(b"abc\x00\x01\x02def")
    with pytest.raises(DataError, match=r"blob\.txt is a binary file, not text: NUL byte at offset 3"):
        read_corpus(str(tmp_path / "blob.txt"))
    assert decode_bytes(b"\xef\xbb\xbfok", "utf-8") == "ok"


def test_folder_skips_and_reports_bad_files(tmp_path: Path) -> None:
    root = tmp_path / "texts"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("first file\n")
    (root / "sub" / "b.md").write_text("# second\n")
    (root / "c.TXT").write_text("third")
    (root / "binary.txt").write_bytes(bytes(range(256)))
    (root / "empty.txt").write_bytes(b"")
    (root / "picture.png").write_bytes(b"\x89PNG\r\n")
    (root / ".hidden.txt").write_text("hidden\n")
    text, report = read_corpus(str(root))
    assert report["used_files"] == ["a.txt", "c.TXT", "sub/b.md"]
    assert text == "first file\n\nthird\n\n# second\n"
    reasons = {s["file"]: s["reason"] for s in report["skipped_files"]}
    assert set(reasons) == {"binary.txt", "empty.txt", "picture.png"}
    assert "offset 0" in reasons["binary.txt"] and "empty" in reasons["empty.txt"]
    assert report["files"] == 6 and report["skipped"] == 3


def test_too_small_corpus_says_how_much_is_needed(tmp_path: Path) -> None:
    for content in ("", "just a few words\n"):
        (tmp_path / "small.txt").write_text(content)
        text, report = read_corpus(str(tmp_path / "small.txt"))
        with pytest.raises(DataError, match=f"needs at least {MIN_CHARS:,}"):
            tokenise(text, report, "char", 0, 0.1)
    (tmp_path / "none").mkdir()
    with pytest.raises(DataError, match="no usable text file"):
        read_corpus(str(tmp_path / "none"))
    with pytest.raises(DataError, match="unknown built-in corpus"):
        read_corpus("builtin:poe")


def test_char_vocab_round_trip_and_split() -> None:
    text = POEMS * 8
    data = tokenise(text, {"source": "poems"}, "char", 0, 0.1)
    assert isinstance(data.vocab, CharVocab) and "月" in data.vocab.symbols
    assert data.vocab.decode(data.ids.tolist()) == text
    assert data.split == int(len(text) * 0.9) and len(data.val_ids) == len(text) - data.split
    assert data.report["val_tokens"] + data.report["train_tokens"] == len(text)


def test_bpe_is_trained_locally_and_round_trips(corpus: Path) -> None:
    text = corpus.read_text()
    data = tokenise(text, {"source": "plays"}, "bpe", 400, 0.1)
    assert isinstance(data.vocab, BPEVocab) and data.vocab.size == 400
    assert data.report["chars_per_token"] > 1.5  # merges shorten the text
    assert data.vocab.decode(data.ids.tolist()) == text
    again = tokenise(text, {}, "bpe", 400, 0.1)
    assert torch.equal(again.ids, data.ids)  # training the tokenizer is deterministic
    assert data.vocab.decode(data.vocab.encode("über 漢字")) == "über 漢字"  # byte-level: anything encodes


# --- the model -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_hidden_state_carries_across_chunks(cell: str) -> None:
    torch.manual_seed(0)
    m = RecurrentLM(20, 8, 16, 2, cell).eval()
    x = torch.randint(20, (3, 12))
    whole, state = m(x)
    first, s1 = m(x[:, :5])
    second, s2 = m(x[:, 5:], s1)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-5)
    assert torch.allclose(s2, state, atol=1e-5)
    assert state.shape == ((2 if cell == "lstm" else 1), 2, 3, 16)
    step, st = Stepper(m), s1  # the sampler's one-token step computes what nn.LSTM / nn.GRU do
    for t in range(5, 12):
        logits, st = step(x[:, t], st)
        assert torch.allclose(logits, whole[:, t], atol=1e-5)
    assert torch.allclose(st, state, atol=1e-5)


def test_validation_pass_covers_every_token() -> None:
    torch.manual_seed(0)
    m = RecurrentLM(10, 8, 16, 1).eval()
    ids = torch.randint(10, (5000,))
    total, count = sequence_nll(m, ids, torch.device("cpu"), lanes=4)
    assert count == 4999
    # one lane, no burn-in: exactly the loss of the whole sequence at once
    logits, _ = m(ids[:-1].unsqueeze(0))
    exact = torch.nn.functional.cross_entropy(logits[0], ids[1:], reduction="sum").item()
    one, _ = sequence_nll(m, ids, torch.device("cpu"), lanes=1)
    assert one == pytest.approx(exact, rel=1e-5)
    assert total == pytest.approx(exact, rel=0.02)  # the lanes' warm-up makes up for their missing context


def test_top_k_one_is_greedy_and_top_p_keeps_the_likeliest() -> None:
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.9], [5.0, -1.0, 0.0, 0.0]])
    u = torch.tensor([0.99, 0.5])
    assert pick(logits, 1.0, 1, None, u).tolist() == [1, 0]
    assert pick(logits, 0.0, None, None, u).tolist() == [1, 0]
    assert pick(logits, 1.0, None, 0.01, u).tolist() == [1, 0]
    assert pick(logits, 1.0, 2, None, torch.tensor([0.999, 0.999])).tolist() == [3, 3]
    assert parse_temperature("1.0,0.5,0.2") == [1.0, 0.5, 0.2]
    for bad in ("hot", "-1", "11"):
        with pytest.raises(ConfigError, match="--temperature"):
            parse_temperature(bad)


def test_sampling_is_batched_and_each_row_follows_its_seed() -> None:
    torch.manual_seed(0)
    m = RecurrentLM(30, 8, 16, 2)
    batch = sample_tokens(m, [1, 2, 3], 4, 50, [10, 11, 12, 13], [1.0])
    alone = sample_tokens(m, [1, 2, 3], 1, 50, [12], [1.0])
    assert torch.equal(batch[2], alone[0])
    assert len({tuple(r.tolist()) for r in batch}) == 4
    assert m.training  # sampling leaves the mode as it found it


# --- training ---------------------------------------------------------------------------------------------

def test_loss_falls_and_best_checkpoint_is_kept(text_run: Path) -> None:
    rows = [json.loads(line) for line in (text_run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    evals = [r for r in rows if "eval_val_loss" in r]
    assert [r["step"] for r in evals] == [40, 80, 120]
    assert losses[0] > 3.0 and losses[-1] < losses[0] - 0.6, losses  # from about the unigram entropy down
    assert evals[-1]["eval_val_loss"] < evals[0]["eval_val_loss"] - 0.2
    assert evals[-1]["eval_val_bpc"] == pytest.approx(evals[-1]["eval_val_loss"] / 0.693147, rel=1e-4)
    assert all("lr" in r and "grad_norm" in r for r in rows if "loss" in r)
    best = checkpoint_info(text_run / "checkpoints" / "best.safetensors")["best"]
    assert best["val_loss"] == pytest.approx(min(e["eval_val_loss"] for e in evals), abs=1e-6)
    assert (text_run / "samples" / "step-0000120.txt").read_text().strip()
    resolved = read_json(text_run / "config.json")["resolved"]
    assert resolved["vocab"]["type"] == "char" and resolved["vocab_size"] == len(resolved["vocab"]["symbols"])
    state, _ = load_checkpoint(text_run / "checkpoints" / "last.safetensors")
    assert set(state["model"]) >= {"model", "opt", "hidden", "cursor"}
    assert state["model"]["hidden"].shape == (2, 1, 8, 48)


def test_info_json_reports_the_best_validation_loss(text_run: Path) -> None:
    from genart.info import run_info

    facts = run_info(text_run)
    assert facts["kind"] == "text" and facts["best_step"] in (40, 80, 120)
    best = checkpoint_info(text_run / "checkpoints" / "best.safetensors")["best"]
    assert facts["best_val_loss"] == pytest.approx(best["val_loss"])


def test_resume_continues_exactly(tmp_path: Path, corpus: Path) -> None:
    straight = train_text(tmp_path / "straight", corpus, steps=60, sample_every=30)
    split = tmp_path / "split"
    trainer = Trainer(TextConfig(data=str(corpus), **{**TINY, "steps": 60, "sample_every": 30}), split, console=quiet())
    step = trainer.model.train_step

    def interrupt_after_25(s: int) -> dict[str, torch.Tensor]:
        trainer._interrupted = s == 24  # what Ctrl-C does: the loop saves after this step and stops
        return step(s)

    trainer.model.train_step = interrupt_after_25  # type: ignore[method-assign]
    trainer.fit()
    assert checkpoint_info(split / "checkpoints" / "last.safetensors")["step"] == 25
    train_text(split, corpus, steps=60, sample_every=30)
    a, _ = load_checkpoint(straight / "checkpoints" / "last.safetensors")
    b, _ = load_checkpoint(split / "checkpoints" / "last.safetensors")
    for k, v in a["model"]["model"].items():
        assert torch.equal(v, b["model"]["model"][k]), k
    assert torch.equal(a["model"]["hidden"], b["model"]["hidden"])
    assert a["model"]["cursor"] == b["model"]["cursor"]
    losses = lambda run: [(r["step"], r["loss"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())  # noqa: E731
                          if "loss" in r and r["step"] % 5 == 0 and r["step"] != 25]
    assert losses(straight) == losses(split)


def test_epochs_wrap_around_a_small_corpus(tmp_path: Path) -> None:
    (tmp_path / "poems.txt").write_text(POEMS * 8, encoding="utf-8")
    run = train_text(tmp_path / "run", tmp_path / "poems.txt", steps=40, batch=4, bptt=64)
    state, _ = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert state["model"]["cursor"]["epoch"] >= 2


def test_cjk_text_trains_and_samples(tmp_path: Path) -> None:
    (tmp_path / "poems.txt").write_text(POEMS * 8, encoding="utf-8")
    run = train_text(tmp_path / "run", tmp_path / "poems.txt", steps=80, batch=4, bptt=24, sample_every=80)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert rows[-1]["loss"] < rows[0]["loss"] - 1.0
    model = genart.load(str(run))
    texts = model.generate(n=2, prime="床前明月光，", length=30, temperature=0.5, seed=3)
    assert all(t.startswith("床前明月光，") and len(t) == 36 for t in texts)
    assert set("".join(texts)) <= set(POEMS)
    assert set((run / "samples" / "step-0000080.txt").read_text(encoding="utf-8")) <= set(POEMS)


# --- sampling from a run -----------------------------------------------------------------------------------

def test_generate_is_deterministic_by_seed_and_starts_with_the_prime(text_run: Path) -> None:
    model = genart.load(str(text_run))
    a = model.generate(n=3, prime="The sea", length=60, temperature=0.8, top_k=40, top_p=0.95, seed=1)
    b = model.generate(n=3, prime="The sea", length=60, temperature=0.8, top_k=40, top_p=0.95, seed=1)
    c = model.generate(n=1, prime="The sea", length=60, temperature=0.8, top_k=40, top_p=0.95, seed=2)
    assert a == b and a[1] == c[0]
    assert all(t.startswith("The sea") and len(t) == len("The sea") + 60 for t in a)
    assert len(set(a)) == 3
    schedule = model.generate(n=1, prime="The sea", length=30, temperature="1.0,0.5,0.2", seed=1)
    assert schedule[0].startswith("The sea") and schedule != model.generate(n=1, prime="The sea", length=30, seed=1)


def test_top_k_1_equals_greedy_decoding(text_run: Path) -> None:
    model = genart.load(str(text_run))
    greedy = model.generate(n=1, prime="KING", length=80, temperature=0, seed=0)
    for seed in (0, 5):
        assert model.generate(n=1, prime="KING", length=80, temperature=1.3, top_k=1, seed=seed) == greedy


def test_prime_with_unknown_characters_names_them(text_run: Path) -> None:
    model = genart.load(str(text_run))
    with pytest.raises(ConfigError, match=r"lacks: '~', '漢'"):
        model.generate(prime="漢 and ~", length=5)
    for bad in (dict(n=0), dict(length=0), dict(top_k=0), dict(top_p=1.5)):
        with pytest.raises(ConfigError):
            model.generate(**{"length": 5, **bad})


def test_streaming_matches_the_batch(text_run: Path) -> None:
    model = genart.load(str(text_run))
    pieces: list[str] = []
    streamed = model.generate(n=1, prime="Now", length=40, seed=4, on_text=lambda k, p: pieces.append(p))
    assert "Now" + "".join(pieces) == streamed[0] == model.generate(n=2, prime="Now", length=40, seed=3)[1]


# --- BPE and fine-tuning ---------------------------------------------------------------------------------------

def test_bpe_run_trains_saves_its_tokenizer_and_samples(tmp_path: Path, corpus: Path) -> None:
    run = train_text(tmp_path / "bpe", corpus, tokens="bpe", vocab=400, steps=30, sample_every=30)
    resolved = read_json(run / "config.json")["resolved"]
    assert resolved["tokens"] == "bpe" and resolved["vocab"]["type"] == "bpe" and resolved["vocab_size"] == 400
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if "eval_val_loss" in line]
    assert evals[-1]["eval_val_bits_per_token"] > evals[-1]["eval_val_bpc"] > 0
    texts = genart.load(str(run)).generate(n=2, prime="Enter 漢", length=20, seed=0)
    assert all(t.startswith("Enter 漢") for t in texts)


def test_fine_tuning_grows_the_vocabulary(tmp_path: Path, text_run: Path) -> None:
    old = read_json(text_run / "config.json")["resolved"]["vocab"]["symbols"]
    (tmp_path / "new.txt").write_text(("Où est la café? Ça va, très bien. " * 60), encoding="utf-8")
    cfg = TextConfig(data=str(tmp_path / "new.txt"), init_from=str(text_run), steps=1, device="cpu", threads=1, batch=8)
    trainer = Trainer(cfg, tmp_path / "tuned", console=quiet())
    assert (cfg.layers, cfg.hidden, cfg.embed) == (1, 48, 16)  # the network comes from the run fine-tuned
    vocab = trainer.data.vocab
    assert vocab.symbols[: len(old)] == old and {"é", "è", "Ç", "ù"} <= set(vocab.symbols[len(old):])
    assert trainer.data.report["new_symbols"] == vocab.size - len(old)
    state, _ = load_checkpoint(text_run / "checkpoints" / "best.safetensors")
    weights = state["model"]["model"]
    m = trainer.model.model
    assert torch.equal(m.embed.weight[: len(old)], weights["embed.weight"])
    assert torch.equal(m.rnn.weight_hh_l0, weights["rnn.weight_hh_l0"])
    trainer.fit()
    texts = genart.load(str(tmp_path / "tuned")).generate(prime="Ça", length=10)
    assert texts[0].startswith("Ça")


def test_fine_tuning_refuses_mismatches(tmp_path: Path, text_run: Path, corpus: Path) -> None:
    with pytest.raises(ConfigError, match="--hidden 48, not 64"):
        TextConfig(data=str(corpus), init_from=str(text_run), hidden=64).validate()
    with pytest.raises(ConfigError, match="--tokens char, not bpe"):
        TextConfig(data=str(corpus), init_from=str(text_run), tokens="bpe").validate()
    with pytest.raises(ConfigError, match="no run at"):
        TextConfig(data=str(corpus), init_from=str(tmp_path / "nowhere")).validate()


def test_resuming_refuses_new_characters(tmp_path: Path, corpus: Path) -> None:
    data = tmp_path / "plays.txt"
    data.write_text(corpus.read_text()[:5000])
    run = train_text(tmp_path / "run", data, steps=5)
    data.write_text(corpus.read_text()[:5000] + "漢")
    with pytest.raises(DataError, match="lacks: '漢'"):
        train_text(run, data, steps=10)


def test_invalid_text_options() -> None:
    for options, fragment in [(dict(tokens="word"), "--tokens"), (dict(cell="rnn"), "--cell"),
                              (dict(tokens="bpe", vocab=100), "--vocab"), (dict(dropout=1.0), "--dropout"),
                              (dict(val_split=0.9), "--val-split"), (dict(hidden=-1), "--hidden"), (dict(vocab=500), "--vocab")]:
        with pytest.raises(ConfigError, match=fragment):
            TextConfig(data="x", **options).validate()
    cfg = TextConfig(data="x")
    cfg.validate()
    assert (cfg.tokens, cfg.cell, cfg.layers, cfg.hidden, cfg.embed, cfg.vocab) == ("char", "lstm", 2, 256, 64, 0)
    assert TextConfig(data="x", init_from="a").differences(TextConfig(data="x")) == []


# --- the command line ---------------------------------------------------------------------------------------------

def assert_clean_error(rc: int, err: str, *fragments: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err, err
    first = next(line for line in err.splitlines() if line.startswith("error:"))
    for fragment in fragments:
        assert fragment in first, (fragment, err)


def test_cli_train_generate_stream_and_info(tmp_path: Path, corpus: Path) -> None:
    run = tmp_path / "run"
    rc, out, err = run_cli("train", "text", "--data", corpus, "--out", run, "--steps", "20", "--sample-every", "10", *TINY_CLI)
    assert rc == 0, err
    assert "1 files, 1 used, 0 skipped" in err
    rc, out, err = run_cli("generate", run, "--prime", "The sea", "--n", "2", "--length", "40", "--temperature", "1.0,0.5",
                           "--top-k", "40", "--top-p", "0.95", "--seed", "1", "--out", tmp_path / "poems.txt")
    assert rc == 0, err
    text = (tmp_path / "poems.txt").read_text()
    assert text.startswith("=== seed 1 ===\nThe sea") and "=== seed 2 ===\nThe sea" in text
    side = json.loads((tmp_path / "poems.txt.json").read_text())
    assert side["ai_generated"] == "true" and side["run"] == "run" and side["seeds"] == "1-2"
    assert side["temperature"] == "1.0,0.5" and side["prime"] == "The sea" and len(side["checkpoint_sha256"]) == 16
    same = ["--prime", "The sea", "--length", "40", "--temperature", "1.0,0.5", "--top-k", "40", "--top-p", "0.95", "--seed", "2"]
    rc, out, err = run_cli("generate", run, *same)
    assert rc == 0 and out.startswith("The sea") and out.strip() in text, (out, err)
    rc, streamed, err = run_cli("generate", run, *same, "--stream")
    assert rc == 0 and streamed == out, (streamed, out, err)
    rc, out, err = run_cli("info", run, "--json")
    facts = json.loads(out)
    assert facts["best_step"] in (10, 20) and facts["best_val_loss"] > 0


@pytest.mark.parametrize("case", ["binary", "empty", "prime"])
def test_cli_bad_inputs_are_one_line_errors(tmp_path: Path, case: str, text_run: Path) -> None:
    blob = tmp_path / "blob.txt"
    if case == "binary":
        blob.write_bytes(b"GIF89a\x00\x00\xff")
        args, fragments = ["train", "text", "--data", blob, "--out", tmp_path / "r"], ["blob.txt", "offset 6"]
    elif case == "empty":
        blob.write_bytes(b"")
        args, fragments = ["train", "text", "--data", blob, "--out", tmp_path / "r"], ["at least 1,000 characters"]
    else:
        args, fragments = ["generate", text_run, "--prime", "naïve"], ["'ï'"]
    rc, out, err = run_cli(*args)
    assert_clean_error(rc, err, *fragments)
    assert not (tmp_path / "r").exists()


def cli_in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str | Path) -> tuple[int, str]:
    """Run genart's real `main()` here (no subprocess start-up): returns (exit code, stderr)."""
    from genart.cli import main

    monkeypatch.setattr("sys.argv", ["genart", *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code, capsys.readouterr().err


def test_text_errors_are_genart_errors_the_cli_prints_with_their_hint(tmp_path: Path, text_run: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture) -> None:
    from genart.core.rundir import RunDir
    from genart.kinds.text.model import init_weights_from
    from genart.kinds.text.vocab import vocab_from_json

    # the text kind raises GenartErrors, each with a message and a hint: a RunError for a run whose network does not fit
    vocab = vocab_from_json(RunDir.open(text_run).resolved["vocab"])
    wider = RecurrentLM(vocab.size, embed=16, hidden=64, layers=1)
    with pytest.raises(GenartError) as caught:
        init_weights_from(wider, str(text_run), vocab)
    assert isinstance(caught.value, RunError)
    assert caught.value.message == f"--init-from {text_run}: rnn.weight_ih_l0 is (192, 16), not (256, 16)"
    assert "--hidden" in caught.value.hint and str(caught.value) == f"{caught.value.message} ({caught.value.hint})"
    # ... and a DataError for missing data, which the CLI prints as one error line and one hint line, exit 2
    missing, out = tmp_path / "missing.txt", tmp_path / "r"
    rc, err = cli_in_process(monkeypatch, capsys, "train", "text", "--data", missing, "--out", out, *TINY_CLI)
    assert rc == 2, err
    assert err.splitlines() == [f"error: --data {missing} does not exist",
                                "hint: give a text file, a folder of .txt/.md files, or builtin:shakespeare"]
    assert not out.exists()
    # --debug: the error itself, with its traceback, for a bug report
    import genart.cli
    from genart.cli import main

    monkeypatch.setitem(genart.cli.STATE, "debug", False)  # --debug sets it; restored after the test
    monkeypatch.setattr("sys.argv", ["genart", "--debug", "train", "text", "--data", str(missing), "--out", str(out)])
    with pytest.raises(DataError, match="does not exist"):
        main()
    assert not out.exists()


def test_fast_dropout_keeps_the_right_share_everywhere_and_matches_the_stacked_rnn() -> None:
    from genart.models.recurrent import FastDropout

    torch.manual_seed(1)
    drop = FastDropout(0.3).train()
    y = drop(torch.ones(400_000))
    assert y.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    for k in range(4):  # every position of the 64-bit words it draws from is as likely to be kept
        assert abs((y.view(-1, 4)[:, k] > 0).float().mean().item() - 0.7) < 0.005
    x = torch.randn(10, 10)
    assert torch.equal(drop.eval()(x), x)

    for cell in ("lstm", "gru"):  # with dropout off, the layer-by-layer path is nn.LSTM / nn.GRU exactly
        m = RecurrentLM(20, 8, 16, 3, cell, 0.2).train()
        ids = torch.randint(20, (4, 7))
        state = torch.randn(2 if cell == "lstm" else 1, 3, 4, 16)
        m.drop.p = 0.0
        a, sa = m._layer_by_layer(m.embed(ids), m.unpack_state(state))
        m.rnn.dropout = 0.0
        b, sb = m.rnn(m.embed(ids), m.unpack_state(state))
        assert torch.equal(a, b) and torch.equal(m.pack_state(sa), m.pack_state(sb))
