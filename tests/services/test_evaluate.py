"""`genart evaluate`: the statistics against known values, the floor and ceiling on real data, copy detection for
images and text, and evaluation of a tiny real run of each kind (files written, model card, CLI)."""

from __future__ import annotations

import dataclasses
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli, train_tiny
from rich.console import Console

from genart.core.errors import GenartError
from genart.core.files import read_json
from genart.data.image_data import load_images
from genart.evaluate import evaluate, evaluator
from genart.kinds.gan.config import GANConfig
from genart.kinds.text.config import TextConfig
from genart.kinds.vae.config import VAEConfig
from genart.metrics.distances import (
    frechet_distance,
    kernel_distance,
    memorisation,
    nearest,
    pixels,
    precision_recall,
    split_halves,
)
from genart.metrics.features import FeatureError, FeatureNet, features, load_features, save_features, train_features
from genart.metrics.text import Hashes, distinct_n, longest_copy, novelty, random_text, unigram_nats, word_unit
from genart.train import train

torch.set_num_threads(1)
FEATURE_STEPS = 150  # a quick feature network for tests (the default is 600)


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def figures(result: dict) -> dict[str, dict]:
    return {f["key"]: f for f in result["figures"]}


# --- statistics against known values -----------------------------------------------------------------------------

def test_frechet_distance_of_gaussians_matches_the_closed_form() -> None:
    g = torch.Generator().manual_seed(0)
    n, d = 40_000, 4
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    mu = torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64)
    scale = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    y = torch.randn(n, d, generator=g, dtype=torch.float64) * scale + mu
    # N(0, I) against N(mu, diag(s^2)): |mu|^2 + sum (1 - s)^2
    exact = float(mu.pow(2).sum() + (1 - scale).pow(2).sum())
    assert frechet_distance(x, y) == pytest.approx(exact, rel=0.03)


def unbiased_mmd(a: np.ndarray, b: np.ndarray) -> float:
    """The unbiased squared MMD with the kernel (x.y / d + 1)^3, written out independently."""
    d = a.shape[1]
    k = lambda u, v: (u @ v.T / d + 1) ** 3  # noqa: E731
    m = a.shape[0]
    kxx, kyy, kxy = k(a, a), k(b, b), k(a, b)
    return float((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())


def test_kid_is_the_unbiased_polynomial_mmd_and_near_zero_for_one_distribution() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.randn(300, 8, generator=g, dtype=torch.float64)
    b = torch.randn(300, 8, generator=g, dtype=torch.float64)
    shifted = b + 1.0
    mean, std = kernel_distance(a, shifted, subset_size=300)  # one subset: the whole sets
    assert std == 0.0
    assert mean == pytest.approx(unbiased_mmd(a.numpy(), shifted.numpy()), rel=1e-9)
    same, _ = kernel_distance(a, b, subset_size=100, subsets=20, seed=3)
    assert abs(same) < 0.05 * mean
    assert kernel_distance(a, b, subset_size=100, subsets=20, seed=3)[0] == same  # reproducible by seed


def test_precision_and_recall_separate_quality_from_diversity() -> None:
    g = torch.Generator().manual_seed(2)
    real = torch.randn(500, 3, generator=g, dtype=torch.float64)
    p, r = precision_recall(real, torch.randn(500, 3, generator=g, dtype=torch.float64))
    assert p > 0.8 and r > 0.8
    p, r = precision_recall(real, torch.randn(500, 3, generator=g, dtype=torch.float64) + 20)
    assert p == 0 and r == 0
    collapsed = real[:1] + 0.01 * torch.randn(500, 3, generator=g, dtype=torch.float64)  # one mode, many times
    p, r = precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.1


def test_nearest_neighbours_are_exact() -> None:
    g = torch.Generator().manual_seed(4)
    refs = torch.rand(300, 50, generator=g)
    queries = torch.cat([refs[[5, 17]], torch.rand(40, 50, generator=g)])
    d, idx = nearest(queries, refs, k=3)
    brute = torch.cdist(queries.double(), refs.double()) / 50 ** 0.5
    assert torch.equal(idx[:2, 0], torch.tensor([5, 17])) and d[0, 0] == 0 and d[1, 0] == 0
    assert torch.allclose(d, brute.sort(1).values[:, :3], atol=1e-6)


def test_memorisation_flags_a_generator_that_returns_training_images() -> None:
    data = load_images(GANConfig(data="builtin:digits", size=8))
    ref_idx, held_idx = split_halves(len(data), 0)
    train_px = pixels(data.images)
    copies = memorisation(pixels(data.images[held_idx[:200]]), train_px)  # "generated" = training images, verbatim
    assert copies["share"] == 1.0 and copies["median_distance"] == 0.0
    real = memorisation(pixels(data.images[held_idx[:200]]), pixels(data.images[ref_idx]))  # new real images
    assert real["share"] < 0.05
    noise = memorisation(pixels(torch.randint(0, 256, (200, 1, 8, 8), dtype=torch.uint8)), train_px)
    assert noise["share"] == 0.0 and noise["median_distance"] > 3 * real["median_distance"]


# --- text statistics ---------------------------------------------------------------------------------------------

def test_longest_copy_and_novelty_match_brute_force() -> None:
    rng = random.Random(0)
    for _ in range(150):
        ref = "".join(rng.choice("ab") for _ in range(rng.randint(1, 50)))
        samples = ["".join(rng.choice("abc") for _ in range(rng.randint(0, 15))) for _ in range(rng.randint(1, 3))]
        best = max((j - i for s in samples for i in range(len(s)) for j in range(i + 1, len(s) + 1) if s[i:j] in ref),
                   default=0)
        found = longest_copy(samples, ref)
        assert found["length"] == best
        if best:
            assert found["text"] in ref and found["text"] == samples[found["sample"]][found["start"]:][:best]
        grams = [s[i:i + 3] for s in samples for i in range(len(s) - 2)]
        expected = sum(g not in ref for g in grams) / len(grams) if grams else None
        assert novelty(samples, Hashes(ref), 3) == (pytest.approx(expected) if grams else None)


def test_text_novelty_flags_a_sampler_that_copies_the_training_text() -> None:
    rng = random.Random(1)
    words = ["sea", "moon", "light", "king", "night", "rose", "sword", "crown", "dream", "storm", "song", "stone"]
    train_text = " ".join(rng.choice(words) for _ in range(20_000))
    copying = [train_text[i:i + 300] for i in range(0, 30_000, 1000)]  # a "sampler" that returns training text
    reference = Hashes(train_text)
    assert novelty(copying, reference) == 0.0
    assert longest_copy(copying, train_text, reference)["length"] == 300
    noise = random_text(train_text, 30, 300, seed=0)
    assert novelty(noise, reference) > 0.9
    assert longest_copy(noise, train_text, reference)["length"] < 20


def test_distinct_n_units_and_unigram_loss() -> None:
    assert distinct_n(["a b a b", "a b"], 1) == pytest.approx(2 / 6)
    assert distinct_n(["a b a b", "a b"], 2) == pytest.approx(2 / 4)  # (a b), (b a): n-grams never cross samples
    assert distinct_n(["静夜思静"], 1, unit="characters") == pytest.approx(3 / 4)
    assert distinct_n(["one"], 2) is None
    assert word_unit("the sea and the moon " * 50) == "words" and word_unit("床前明月光疑是地上霜" * 50) == "characters"
    assert unigram_nats("abab", "ab") == pytest.approx(np.log(2))  # p(a) = p(b) = (2 + 1) / (4 + 2)
    assert unigram_nats("aaab", "c") == pytest.approx(np.log(7))  # an unseen character: (0 + 1) / (4 + 3)


# --- the feature network --------------------------------------------------------------------------------------

def test_feature_network_round_trips_and_bad_files_are_clear_errors(tmp_path: Path) -> None:
    images = load_images(GANConfig(data="builtin:digits", size=8)).images[:300]
    net = train_features(images, 16, steps=20, seed=0)
    path = tmp_path / "features.safetensors"
    save_features(net, path, {"trained_on": "test"})
    loaded, prov = load_features(path)
    assert prov["arch"] == "genart-features-v1" and prov["trained_on"] == "test" and len(prov["sha256"]) == 16
    assert torch.equal(features(net, images), features(loaded, images))
    f = features(net, images)
    assert torch.allclose(f.mean(0), torch.zeros(net.dims, dtype=torch.float64), atol=1e-4)
    assert f.var(0).sum() == pytest.approx(net.dims, rel=0.01)  # unit variance per dimension, on average

    from safetensors.torch import save_file

    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    save_file({"w": torch.zeros(2)}, str(tmp_path / "inception.safetensors"),
              metadata={"arch": json.dumps({"arch": "inception-v3"})})
    for name, fragment in [("missing.safetensors", "no such file"), ("junk.safetensors", "not a readable"),
                           ("other.safetensors", "does not say"), ("inception.safetensors", "inception-v3")]:
        with pytest.raises(FeatureError, match=fragment):
            load_features(tmp_path / name)
    assert isinstance(FeatureNet(16, decoder=False), torch.nn.Module)


# --- real runs of each kind --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny VAE trained 600 steps on builtin:digits at 8x8: good enough to land between the floor and noise."""
    out = tmp_path_factory.mktemp("eval-vae") / "vae"
    cfg = VAEConfig(data="builtin:digits", size=8, width=8, latent=8, batch=32, device="cpu", precision="fp32", steps=600,
                    sample_every=300, log_every=50)
    train(cfg, out, console=quiet())
    return out


def test_vae_lands_between_the_floor_and_noise_and_writes_its_files(vae_run: Path) -> None:
    result = evaluate(vae_run, n=200, feature_steps=FEATURE_STEPS, console=quiet())
    f = figures(result)
    for key in ("fid", "kid"):
        assert f[key]["floor"] < f[key]["model"] < f[key]["ceiling"], f[key]
    assert f["fid"]["floor"] < 0.05 * f["fid"]["ceiling"]  # real against real is near the floor
    assert f["precision"]["floor"] > 0.7 and f["recall"]["floor"] > 0.7
    assert f["precision"]["ceiling"] == 0 and f["recall"]["ceiling"] == 0
    assert f["near_copies"]["model"] < 0.05
    # the held-out negative ELBO is the figure training logged at this step
    logged = [r for r in read_json_lines(vae_run / "metrics.jsonl") if "eval_val_loss" in r][-1]
    assert f["nelbo"]["model"] == pytest.approx(logged["eval_val_loss"], rel=1e-4)
    assert f["nelbo"]["floor"] < f["nelbo"]["ceiling"] and f["bpd"]["model"] < f["bpd"]["ceiling"]

    saved = read_json(vae_run / "evaluation.json")
    assert saved["figures"] == result["figures"] and saved["kind"] == "vae" and saved["step"] == 600
    net = saved["details"]["feature_network"]
    assert net["arch"] == "genart-features-v1" and net["data_hash"] == read_json(vae_run / "data.json")["content_hash"]
    assert saved["data"]["matches_training"] is True
    for pic in saved["pictures"]:
        assert (vae_run / pic).stat().st_size > 0
    page = (vae_run / "evaluation.html").read_text(encoding="utf-8")
    assert "Fréchet distance" in page and 'src="eval/closest.png"' in page
    card = (vae_run / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Evaluation" in card and "negative ELBO" in card and "Feature network" in card and "## Data" in card

    # the second time, the cached feature network gives the same figures
    again = evaluate(vae_run, n=200, feature_steps=FEATURE_STEPS, console=quiet())
    assert again["figures"] == result["figures"]
    assert again["details"]["feature_network"]["source"] == "this run's own, cached"


def read_json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_gan_evaluates_with_another_runs_feature_network(tmp_path: Path, vae_run: Path) -> None:
    if not (vae_run / "eval" / "features.safetensors").exists():
        evaluate(vae_run, n=100, feature_steps=FEATURE_STEPS, console=quiet())
    gan = train_tiny(tmp_path / "gan", steps=20)
    shared = vae_run / "eval" / "features.safetensors"
    result = evaluate(gan, n=100, features=shared, console=quiet())
    net = result["details"]["feature_network"]
    assert net["source"] == "given with --features" and net["file"] == str(shared)
    assert not (gan / "eval" / "features.safetensors").exists()  # nothing trained
    assert (gan / "evaluation.json").exists() and (gan / "eval" / "closest.png").exists()
    assert "## Evaluation" in (gan / "MODEL_CARD.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny char LSTM trained 150 steps on 20,000 characters of the built-in Shakespeare."""
    from genart.kinds.text.data import builtin_text

    root = tmp_path_factory.mktemp("eval-text")
    corpus = root / "plays.txt"
    corpus.write_text(builtin_text("shakespeare")[0][:20_000], encoding="utf-8")
    cfg = TextConfig(data=str(corpus), layers=1, hidden=48, embed=16, batch=8, bptt=32, lr=1e-2, warmup=5, log_every=10,
                     sample_every=0, device="cpu", threads=1, steps=150)
    train(cfg, root / "run", console=quiet())
    return root / "run"


def test_text_evaluation_writes_its_files(text_run: Path) -> None:
    result = evaluate(text_run, n=20, length=200, console=quiet())
    f = figures(result)
    assert f["val_loss"]["model"] < f["val_loss"]["ceiling"]  # better than the unigram model
    assert f["perplexity"]["model"] == pytest.approx(np.exp(f["val_loss"]["model"]))
    assert 0 < f["novelty_8"]["model"] <= 1 and f["novelty_8"]["ceiling"] > 0.95
    assert 0 < f["novelty_8"]["floor"] < 1  # real new text shares some 8-grams with the training text
    copy = result["details"]["longest_copy"]["model"]
    assert copy["length"] == f["longest_copy"]["model"] and copy["text"] in text_run.joinpath("..", "plays.txt").read_text()
    assert {f"distinct_{n}" for n in (1, 2, 3, 4)} <= set(f)
    assert (text_run / "eval" / "samples.txt").exists() and (text_run / "eval" / "samples.txt.json").exists()
    assert "<mark>" in (text_run / "evaluation.html").read_text(encoding="utf-8")
    assert "validation loss" in (text_run / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_options_that_do_not_fit_the_kind_are_errors(text_run: Path, vae_run: Path, tmp_path: Path) -> None:
    with pytest.raises(GenartError, match="--features is for image runs"):
        evaluate(text_run, features=tmp_path / "f.safetensors", console=quiet())
    with pytest.raises(GenartError, match="--length is for sequence runs"):
        evaluate(vae_run, length=100, console=quiet())
    with pytest.raises(GenartError, match="out of range"):
        evaluate(vae_run, n=3, console=quiet())
    from genart.core.registry import all_kinds

    assert all(evaluator(spec) for spec in all_kinds().values())  # every kind can be judged
    silent = dataclasses.replace(all_kinds()["text"], evaluate=None, capabilities=frozenset())
    with pytest.raises(GenartError, match="does not know"):
        evaluator(silent)


# --- the command line ------------------------------------------------------------------------------------------

def test_cli_evaluate_prints_a_table_and_json(cli_digits_run: tuple[Path, dict], tmp_path: Path) -> None:
    import shutil

    built_run, built = cli_digits_run
    assert built["rc"] == 0, built["stderr"]
    run = tmp_path / "digits"
    shutil.copytree(built_run, run)  # the shared run stays as it was
    net = train_features(load_images(GANConfig(data="builtin:digits", size=8)).images, 16, steps=20)
    save_features(net, tmp_path / "net.safetensors", {"trained_on": "the test"})
    rc, out, err = run_cli("evaluate", run, "--n", "100", "--features", tmp_path / "net.safetensors", "--json")
    assert rc == 0, err
    result = json.loads(out)
    assert result["kind"] == "gan" and result["details"]["feature_network"]["trained_on"] == "the test"
    assert {f["key"] for f in result["figures"]} >= {"fid", "kid", "precision", "recall", "near_copies"}
    assert read_json(run / "evaluation.json")["figures"] == result["figures"]
    rc, out, err = run_cli("evaluate", run, "--n", "100", "--features", tmp_path / "net.safetensors")
    assert rc == 0, err
    assert "Fréchet distance" in out and "real vs real" in out and "evaluation.html" in out
    bad = tmp_path / "weights.safetensors"
    bad.write_bytes(b"\x00" * 64)
    rc, out, err = run_cli("evaluate", run, "--features", bad)
    assert rc == 2 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-2].startswith("error:") and "weights.safetensors" in lines[-2] and lines[-1].startswith("hint:")


def test_the_card_puts_the_near_copy_share_beside_other_runs_on_the_same_data(tmp_path: Path) -> None:
    import json

    from genart.evaluate import card_lines

    def result(run: str, kind: str, digest: str, share: float) -> dict:
        return {"run": run, "kind": kind, "step": 100, "checkpoint": "last.safetensors", "created": "now",
                "columns": {"model": "generated", "floor": "real vs real", "ceiling": "noise"}, "details": {},
                "data": {"content_hash": digest},
                "figures": [{"key": "near_copies", "label": "near-copies", "model": share, "floor": 0.0,
                             "ceiling": 0.0}]}

    for name, kind, digest, share in (("g", "gan", "abc", 0.001), ("other-data", "gan", "zzz", 0.5)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "evaluation.json").write_text(json.dumps(result(name, kind, digest, share)))
    (tmp_path / "d").mkdir()
    lines = card_lines(result("d", "diffusion", "abc", 0.02), tmp_path / "d")
    beside = lines["Near-copies beside other runs on the same data"]
    assert beside.startswith("this run: 0.02") and "g (gan, step 100): 0.001" in beside and "other-data" not in beside
    assert "Near-copies beside other runs on the same data" not in card_lines(result("x", "gan", "new", 0.0), tmp_path / "x")
