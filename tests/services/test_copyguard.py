"""`genart generate --no-copies`: outputs that copy the training data are rejected and redrawn from later seeds,
deterministically, with the rejections counted on screen and in the provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import quiet_console, train_tiny

import genart
from genart.core.errors import GenartError
from genart.generate import GenerateOptions, run_generate
from genart.metrics import copyguard
from genart.metrics.text import Hashes, copied_runs

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def overfitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A text run that has learnt a tiny corpus (one sonnet, repeated) by heart."""
    from genart.kinds.text import KIND
    from genart.kinds.text.config import TextConfig
    from genart.train import train

    root = tmp_path_factory.mktemp("copyguard")
    corpus = KIND.extras["tiny"]["files"]["sonnet.txt"]
    (root / "sonnet.txt").write_text(corpus)
    cfg = TextConfig(data=str(root / "sonnet.txt"), layers=1, hidden=64, embed=16, batch=8, bptt=32, warmup=2,
                     steps=200, sample_every=0, device="cpu", seed=0)
    train(cfg, root / "run", console=quiet_console())
    return root / "run", corpus


def copies(texts: list[str], corpus: str) -> list[bool]:
    return [c is not None for c in copied_runs(texts, corpus, Hashes(corpus), copyguard.TEXT_RUN + 1)]


def test_no_copies_rejects_verbatim_text_and_counts_it(overfitted: tuple[Path, str], tmp_path: Path) -> None:
    run, corpus = overfitted
    model = genart.load(str(run), device="cpu")
    settings = dict(n=8, length=150, temperature="1.3")
    plain = model.sampler.generate(n=8, seeds=list(range(8)), length=150, temperature="1.3")
    flagged = copies(plain, corpus)
    assert 0 < sum(flagged) < 8, "the run should copy some samples and not others at this temperature (1.3)"

    out = tmp_path / "guarded.txt"
    message = run_generate(model, GenerateOptions(out=out, no_copies=True, **settings))
    sidecar = json.loads(out.with_name(out.name + ".json").read_text())
    guard = sidecar["copy_guard"]
    assert guard["on"] is True and guard["rejected"] >= sum(flagged)
    assert guard["rejected_seeds"][:sum(flagged)] == [s for s, f in zip(range(8), flagged, strict=True) if f]
    assert f"copy guard: {guard['rejected']} near-cop" in message

    # the seeds finally used: the copy-free ones asked for, then later ones in place of the copies; none copies
    used = [s["seed"] for s in sidecar["samples"]]
    assert [s for s in used if s < 8] == [s for s in range(8) if not flagged[s]] and min(used[i] for i in
                                                                                        range(8) if flagged[i]) > 7
    assert not any(copies(model.sampler.generate(n=8, seeds=used, length=150, temperature="1.3"), corpus))
    again = tmp_path / "again.txt"
    run_generate(model, GenerateOptions(out=again, no_copies=True, **settings))
    assert again.read_text() == out.read_text()

    # --copies writes them as drawn; nothing is said of a guard
    message = run_generate(model, GenerateOptions(out=tmp_path / "free.txt", no_copies=False, **settings))
    assert "copy guard" not in message


def test_the_guarded_samples_hold_no_copy(overfitted: tuple[Path, str]) -> None:
    run, corpus = overfitted
    model = genart.load(str(run), device="cpu")

    def make(seeds: list[int]) -> list[str]:
        return model.sampler.generate(n=len(seeds), seeds=seeds, length=150, temperature="1.3")

    judge, rule = copyguard.run_judge(corpus, copyguard.TEXT_RUN, "characters")
    result = copyguard.guard(list(range(8)), make, judge, rule)
    assert not any(copies(result.items, corpus)) and len(result.items) == 8
    assert result.rejected and all(s not in result.seeds for s in result.rejected)
    assert max(result.seeds) > 7  # redrawn from the seeds after the last asked


def test_a_run_that_only_copies_gives_a_clear_error(overfitted: tuple[Path, str], tmp_path: Path) -> None:
    model = genart.load(str(overfitted[0]), device="cpu")
    with pytest.raises(GenartError, match="rejected 17 of 17 samples as copies .* gave up after 16 redraws"):
        run_generate(model, GenerateOptions(out=tmp_path / "x.txt", n=1, length=150, temperature="0.3", no_copies=True))


def test_streaming_cannot_be_guarded(overfitted: tuple[Path, str]) -> None:
    model = genart.load(str(overfitted[0]), device="cpu")
    with pytest.raises(GenartError, match="cannot take back"):
        run_generate(model, GenerateOptions(n=1, length=20, stream=True, no_copies=True))
    message = run_generate(model, GenerateOptions(n=1, length=20, stream=True), )
    assert "copy guard off: streamed text cannot be taken back" in message


def test_image_judge_finds_near_copies_and_the_guard_redraws_them() -> None:
    g = torch.Generator().manual_seed(0)
    training = torch.randint(0, 256, (12, 1, 16, 16), generator=g, dtype=torch.uint8)
    signed = training.float() / 127.5 - 1

    def make(seeds: list[int]) -> list[torch.Tensor]:  # even seeds copy a training image (with a little noise)
        out = []
        for s in seeds:
            noise = torch.randn(1, 16, 16, generator=torch.Generator().manual_seed(s))
            out.append((signed[s % 12] + 0.02 * noise) if s % 2 == 0 else noise.clamp(-1, 1))
        return out

    judge, rule = copyguard.image_judge(training)
    assert judge(make([0, 1, 2, 3])) == [True, False, True, False]
    result = copyguard.guard([0, 1, 2, 3], make, judge, rule, "images")
    assert result.seeds == [5, 1, 7, 3] and result.rejected == [0, 2, 4, 6]
    assert result.provenance()["copy_guard"]["rejected"] == 4


def test_images_generate_with_the_guard(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    folder = tmp_path / "pictures"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / f"{i}.png")
    run = train_tiny(tmp_path / "gan", steps=3, data=str(folder), labels="none", batch=4)
    model = genart.load(str(run), device="cpu")
    out = tmp_path / "grid.png"
    message = run_generate(model, GenerateOptions(out=out, n=16, no_copies=True))
    with Image.open(out) as img:
        text = dict(img.text)
    assert "copy guard: no copies" in message
    assert json.loads(text["genart:copy_guard"])["rejected"] == 0
    # off by default for one-pass image kinds (the guard costs more than generating: see the README)
    message = run_generate(model, GenerateOptions(out=tmp_path / "plain.png", n=4))
    assert "copy guard" not in message
