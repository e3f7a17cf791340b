"""The musicvae kind: a tiny music VAE trained for real on melodies made here (high or low register; quarter, eighth
or sixteenth notes; steps or leaps), then morphs, attribute edits, evolution and clean errors, as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import melody, quiet_console, run_cli
from typer.testing import CliRunner

from genart.core.errors import ConfigError


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("melodies")
    for i in range(18):
        melody(i, 74 if i % 2 else 50, [4, 2, 1][(i // 2) % 3], leap=[1, 2, 4][i // 6]).dump_midi(
            str(root / f"tune-{i:02d}.mid"))
    return root


@pytest.fixture(scope="module")
def run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from genart.kinds.musicvae.config import MusicVAEConfig
    from genart.train import train

    out = tmp_path_factory.mktemp("musicvae") / "run"
    cfg = MusicVAEConfig(data=str(data), bars=2, latent=8, hidden=48, embed=16, batch=64, steps=80, kl_warmup=25,
                         lr=5e-3, transpose="0", val_split=0.12, sample_every=40, log_every=10, device="cpu", threads=1)
    train(cfg, out, console=quiet_console())
    return out


def step_pitches(path: Path, steps: int, bars: int = 2) -> list[float]:
    """Mean pitch of each step (window) of a morph file."""
    from symusic import Score

    score = Score(str(path))
    span = score.ticks_per_quarter * 4 * bars
    notes = [(n.time, n.pitch) for t in score.tracks for n in t.notes]
    return [float(np.mean([p for s, p in notes if k * span <= s < (k + 1) * span] or [np.nan])) for k in range(steps)]


def test_interpolate_moves_from_one_melody_to_the_other(run: Path, data: Path, tmp_path: Path) -> None:
    from genart.cli import app
    from genart.io.midi import read_provenance
    from genart.morph import sha256

    high, low = data / "tune-01.mid", data / "tune-00.mid"  # register 74 and 50
    out = tmp_path / "morph.mid"
    result = CliRunner().invoke(app, ["interpolate", str(run), "--from", str(high), "--to", str(low), "--steps", "6",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    means = step_pitches(out, 6)
    assert not np.isnan(means).any(), f"a step of the morph is silent: {means}"
    assert means[0] > 68 and means[-1] < 58, f"the morph does not start high and end low: {means}"
    falls = sum(b <= a + 1 for a, b in zip(means, means[1:], strict=False))
    assert falls == 5, f"the mean pitch of the steps does not move steadily down: {means}"
    prov = read_provenance(out)
    assert prov["morph_from_sha256"] == sha256(high) and prov["morph_to_sha256"] == sha256(low)
    assert prov["ai_generated"] == "true" and prov["steps"] == 6


def test_active_units_are_reported(run: Path) -> None:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evaluated = [r for r in rows if "eval_val_active" in r]
    assert evaluated, "training reported no active units"
    assert 4 <= evaluated[-1]["eval_val_active"] <= 8  # at least half of the 8 latent units are used
    assert any("active" in r for r in rows)


def test_density_edit_adds_notes_on_most_seeds(run: Path, tmp_path: Path) -> None:
    import genart
    from genart.kinds.musicvae.data import window_attributes

    model = genart.load(str(run), device="cpu")
    seeds = list(range(20))
    z, _ = model.latents(seeds)
    base = window_attributes(model.sampler.decode_windows(z, 0.5, seeds))["density"]
    denser = [p.score.note_num() for p in model.generate(seeds=seeds, temperature=0.5, edits=["density:+1.5"])]
    more = sum(d > b * 2 for d, b in zip(denser, base.tolist(), strict=True))  # density is notes per bar (2 bars)
    assert more >= 16, f"density +1.5 gave more notes on only {more} of 20 seeds"


def test_attribute_regulariser_orders_the_latent_and_range_edits_work(run: Path) -> None:
    """With the attribute regulariser (on by default), latent dim i ranks the training windows by attribute i, and
    a range edit widens or narrows the decoded windows on most seeds (without it, range edits are a coin toss)."""
    from torchmetrics.functional import spearman_corrcoef

    import genart
    from genart.kinds.musicvae.data import load_windows, window_attributes
    from genart.kinds.musicvae.evaluate import edit_success

    model = genart.load(str(run), device="cpu")
    assert model.run.config.attribute_reg > 0
    windows = load_windows(model.run.config, model.run.resolved).train
    mu = model.sampler.encode(windows)
    for i, (name, values) in enumerate(window_attributes(windows).items()):
        rho = float(spearman_corrcoef(mu[:, i], values))
        assert rho > 0.8, f"latent dim {i} does not order the windows by {name}: Spearman {rho:.2f}"
    success = edit_success(model.sampler, list(range(40)))
    assert min(success.values()) >= 0.65, f"an attribute edit does not move its attribute on most seeds: {success}"


def test_generate_with_edits_writes_midi_and_rejects_unknown_attributes(run: Path, tmp_path: Path) -> None:
    import genart
    from genart.generate import GenerateOptions, run_generate

    model = genart.load(str(run), device="cpu")
    summary = run_generate(model, GenerateOptions(out=tmp_path / "x.mid", n=2, seed=0, temperature="0.5",
                                                  edit=["density:+1.5", "range:-1"]))
    assert (tmp_path / "x-00.mid").exists() and (tmp_path / "x-01.mid").exists() and "density:+1.5" in summary
    with pytest.raises(ConfigError, match="unknown.*not an attribute") as e:
        run_generate(model, GenerateOptions(out=tmp_path / "y.mid", edit=["unknown:1"]))
    assert "density" in e.value.hint and "syncopation" in e.value.hint


def test_evolve_writes_one_midi_per_member_and_a_session(run: Path, tmp_path: Path) -> None:
    from genart.cli import app
    from genart.evolve import Session

    out = tmp_path / "next.mid"
    args = ["evolve", str(run), "--session", "tunes", "--out", str(out), "--n", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [p.name for p in sorted(tmp_path.glob("next-*.mid"))] == [f"next-0{k}.mid" for k in range(4)]
    liked = notes(tmp_path / "next-01.mid")
    result = CliRunner().invoke(app, [*args, "--like", "1,3"])
    assert result.exit_code == 0, result.output
    session = Session.load(run, "tunes")
    assert session.generation == 1 and session.population[0].origin == "kept 1"
    assert notes(tmp_path / "next-00.mid") == liked  # what was liked stays, first, and sounds the same
    assert "kept 0,1 (were 1,3)" in result.output


def notes(path: Path) -> list[tuple[int, int, int]]:
    from symusic import Score

    return sorted((n.time, n.duration, n.pitch) for t in Score(str(path)).tracks for n in t.notes)


def test_interpolate_from_a_file_that_is_not_music_is_a_clean_error(run: Path, data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not music")
    rc, _, err = run_cli("interpolate", run, "--from", bad, "--to", data / "tune-00.mid", "--out", tmp_path / "m.mid")
    assert rc == 2 and "notes.txt is not a music file" in err and "Traceback" not in err


def test_sixteen_bars_use_the_hierarchical_decoder() -> None:
    import torch

    from genart.kinds.musicvae.config import MusicVAEConfig
    from genart.kinds.musicvae.model import build_net

    cfg = MusicVAEConfig(data="x", bars=16, latent=8, hidden=16, embed=8)
    assert cfg.is_hierarchical() and not MusicVAEConfig(data="x", bars=4).is_hierarchical()
    net = build_net(cfg, voices=2)
    x = torch.randint(0, 90, (3, 256, 2))
    mu, _ = net.encode(x)
    assert net.decode_logits(mu, x).shape == (3, 256, 2, 90)
    # teacher forcing restarts at each bar: bar 5's logits do not depend on what came before bar 5 except its
    # previous step (the conductor gives each bar its state)
    y = x.clone()
    y[:, :60] = torch.randint(0, 90, (3, 60, 2))
    assert torch.allclose(net.decode_logits(mu, x)[:, 80:], net.decode_logits(mu, y)[:, 80:])
    assert net.sample(mu, 0.5, torch.rand(3, 256, 2)).shape == (3, 256, 2)
    with pytest.raises(ConfigError, match="--bars 3"):
        MusicVAEConfig(data="x", bars=3).validate()


def test_a_run_saved_before_the_regulariser_resumes_without_it() -> None:
    from genart.kinds.musicvae.config import MusicVAEConfig

    assert MusicVAEConfig().attribute_reg == 10.0
    old = MusicVAEConfig(data="builtin:bach").to_dict()
    del old["attribute_reg"]
    assert MusicVAEConfig.from_dict(old).attribute_reg == 0.0
    assert MusicVAEConfig.from_dict({**old, "attribute_reg": 3.0}).attribute_reg == 3.0
