"""Controls over image runs: latent directions, edits, seed mixing, and preference-steered evolution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import quiet_console, run_cli
from test_cli import assert_clean_error

import genart
from genart.controls import apply_edits, control_latents, crossover, direction_strip, directions, parse_edit
from genart.core.errors import ConfigError, GenartError
from genart.evolve import Session, check_session_name, evolve, numbering, render, start_session
from genart.io.images import read_png_text


@pytest.fixture(scope="module")
def model(digits_run: Path) -> genart.api.Model:
    return genart.load(digits_run, device="cpu")


def test_directions_are_unit_deterministic_and_cached(model, digits_run: Path) -> None:
    d = directions(model, 6)
    cache = digits_run / "studio" / "directions.safetensors"
    assert cache.is_file() and len(d) == 6 and "ganspace" in d.method
    assert torch.allclose(d.vectors.norm(dim=1), torch.ones(6), atol=1e-5)
    assert (d.std > 0).all() and (d.explained[:-1] >= d.explained[1:]).all()  # ordered by explained variance
    cache.unlink()
    again = directions(genart.load(digits_run, device="cpu"), 6)  # recomputed from the fixed seed: the same
    assert torch.allclose(d.vectors, again.vectors, atol=1e-5) and cache.is_file()
    # the first direction moves the first-layer activations more than a random direction of the same length
    z = torch.randn(64, model.sampler.z_dim, generator=torch.Generator().manual_seed(1))
    y = torch.zeros(64, dtype=torch.long)
    fc = model.sampler.G.fc

    def moved(v: torch.Tensor) -> float:
        with torch.no_grad():
            emb = model.sampler.G.embed(y)
            a = fc(torch.cat([z, emb], 1))
            b = fc(torch.cat([z + 2 * v, emb], 1))
        return float((b - a).norm(dim=1).mean())

    rand = torch.randn(model.sampler.z_dim, generator=torch.Generator().manual_seed(2))
    assert moved(d.vectors[0]) > moved(rand / rand.norm())


def test_edits_and_mixing_follow_the_documented_rules(model) -> None:
    assert parse_edit("0:+2.5") == (0, 2.5) and parse_edit(" 2 : -1 ") == (2, -1.0)
    for bad in ("x:1", "0", "0:abc", "99:1", "0:50"):
        with pytest.raises(ConfigError):
            parse_edit(bad)
    z, _ = model.latents([3])
    d = directions(model, 8)
    moved = apply_edits(model, z, [(0, 2.5), (2, -1.0)])
    assert torch.allclose(moved, z + 2.5 * d.std[0] * d.vectors[0] - 1.0 * d.std[2] * d.vectors[2], atol=1e-5)
    assert torch.equal(apply_edits(model, z, {0: 0.0}), z)
    a, b = torch.arange(6.0), -torch.arange(6.0)
    assert crossover(a, b).tolist() == [0, 1, 2, -3, -4, -5]
    zm, ym = control_latents(model, [3, 4], mix=9)
    z9, _ = model.latents([9])
    half = model.sampler.z_dim // 2
    assert torch.equal(zm[:, half:], z9.expand(2, -1)[:, half:]) and torch.equal(ym, model.latents([3, 4])[1])
    plain = model.generate_tensor(seeds=[3])
    edited = model.generate_tensor(seeds=[3], edits=[(0, 3.0)])
    assert plain.shape == edited.shape and not torch.equal(plain, edited)
    strip, dirs = direction_strip(model, seed=3, k=3, steps=5)
    assert strip.shape[0] == 15 and len(dirs) == 3
    assert torch.allclose(strip[2], plain[0], atol=1e-5)  # the middle of each row is the unedited image


def test_a_simulated_user_steers_evolution_toward_a_target(model) -> None:
    """The user likes the two images closest to a target image and dislikes the farthest: a few generations
    bring the population measurably closer to it."""
    zt, yt = model.latents([999])
    target = model.sampler.render(zt, yt)
    session = start_session(model, "sim", n=12)

    def distances() -> torch.Tensor:
        return (render(model, session) - target).flatten(1).norm(dim=1)

    first = distances()
    for _ in range(6):
        order = distances().argsort().tolist()
        evolve(session, order[:2], order[-1:], num_classes=len(model.classes))
    last = distances()
    assert last.mean() < 0.85 * first.mean(), (first.mean(), last.mean())
    assert last.min() <= first.min()  # the best so far is never lost (liked images are kept)
    assert session.generation == 6 and len(session.history) == 6
    assert len({tuple(m.z) for m in session.population}) == 12  # variety: no duplicates


def test_step_size_shrinks_when_likes_agree(model) -> None:
    s = start_session(model, "agree", n=12)
    z, _ = s.latents()
    d = torch.cdist(z, z) + torch.eye(12) * 1e9
    i, j = divmod(int(d.argmin()), 12)  # the closest pair: agreeing likes
    evolve(s, [i, j])
    evolve(s, [0, 1])  # the kept pair again
    assert s.step < 0.5
    spread = start_session(model, "spread", n=12)
    evolve(spread, [], [0, 1])  # nothing liked: explore more
    assert spread.step > 0.5


def test_sessions_round_trip_and_names_are_checked(model, digits_run: Path) -> None:
    s = start_session(model, "round-trip", n=6)
    evolve(s, [1, 4], [0])
    path = s.save(digits_run)
    assert path == digits_run / "studio" / "sessions" / "round-trip.json"
    back = Session.load(digits_run, "round-trip")
    assert back.generation == 1 and torch.equal(back.latents()[0], s.latents()[0]) and back.history == s.history
    assert back.lineage(0) == [back.population[0].id, 1]  # kept image 0 was generation 0's image 1
    assert "kept 0,1 (were 1,4)" in numbering(back)
    for bad in ("../x", "/etc/passwd", "", "a" * 65, "a b", ".hidden"):
        with pytest.raises(ConfigError):
            check_session_name(bad)
    with pytest.raises(GenartError):
        evolve(back, [1], [1])
    with pytest.raises(ConfigError):
        evolve(back, [12])


def test_vae_directions_come_from_encoded_training_images(tmp_path: Path) -> None:
    from genart.kinds.vae.config import VAEConfig
    from genart.train import train

    cfg = VAEConfig(data="builtin:digits", size=8, width=8, latent=8, batch=16, device="cpu", precision="fp32", steps=10,
                    sample_every=0, log_every=5)
    train(cfg, tmp_path / "vae", console=quiet_console())
    vae = genart.load(tmp_path / "vae", device="cpu")
    d = directions(vae, 4)
    assert "training images" in d.method and len(d) == 4
    assert torch.allclose(d.vectors @ d.vectors.T, torch.eye(4), atol=1e-4)  # PCA axes are orthonormal
    assert vae.generate_tensor(seeds=[1], edits={1: 2.0}).shape == (1, 1, 8, 8)


def test_cli_directions_edit_mix_and_evolve(digits_run: Path, tmp_path: Path) -> None:
    rc, out, err = run_cli("directions", digits_run, "--out", tmp_path / "dirs.png", "--k", "3", "--steps", "5")
    assert rc == 0 and "3 directions" in out, err
    assert json.loads(read_png_text(tmp_path / "dirs.png")["genart:directions"]) == 3

    rc, out, err = run_cli("generate", digits_run, "--seed", "3", "--n", "4", "--edit", "0:+2.5", "--edit", "2:-1",
                           "--mix", "9", "--out", tmp_path / "e.png")
    assert rc == 0, err
    text = read_png_text(tmp_path / "e.png")
    assert text["genart:edits"] == "0:+2.5,2:-1" and text["genart:mix"] == "9"

    rc, out, err = run_cli("evolve", digits_run, "--session", "cli", "--out", tmp_path / "g0.png", "--n", "8")
    assert rc == 0 and "generation 0" in out and "seeds 0-7" in out, err
    rc, out, err = run_cli("evolve", digits_run, "--session", "cli", "--like", "3,7", "--dislike", "1",
                           "--out", tmp_path / "next.png")
    assert rc == 0 and "generation 1" in out and "kept 0,1 (were 3,7)" in out, err
    assert (digits_run / "studio" / "sessions" / "cli.json").is_file() and (tmp_path / "next.png").is_file()

    rc, out, err = run_cli("generate", digits_run, "--edit", "0:abc", "--out", tmp_path / "x.png")
    assert_clean_error(rc, err, "is not K:AMOUNT")
    rc, out, err = run_cli("evolve", digits_run, "--session", "../x", "--out", tmp_path / "x.png")
    assert_clean_error(rc, err, "not allowed")
