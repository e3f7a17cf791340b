"""Networks, losses, latents and sampling: shapes, the original MLP design, and seed-addressable output."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

import genart
from genart.core.errors import ConfigError
from genart.core.seeds import MAX_N, parse_seeds
from genart.data.builtin import load_builtin
from genart.io.images import to_signed as to_unit
from genart.kinds.gan.config import GANConfig
from genart.kinds.gan.losses import d_loss, g_loss
from genart.kinds.gan.model import (
    MLPDiscriminator,
    MLPGenerator,
    build_discriminator,
    build_generator,
    init_weights,
)
from genart.models.augment import diff_augment
from genart.models.latent import seed_latent, seed_latents, slerp, walk


def _cfg(arch: str, size: int, **options) -> GANConfig:
    cfg = GANConfig(data="builtin:digits", arch=arch, size=size, width=8, **options)
    cfg.validate()
    return cfg


# --- shapes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
@pytest.mark.parametrize("size", [8, 16, 32, 64])
@pytest.mark.parametrize("classes", [0, 10])
def test_network_shapes(arch: str, size: int, classes: int) -> None:
    channels = 3 if size in (16, 64) else 1
    cfg = _cfg(arch, size)
    G, D = build_generator(cfg, channels, classes).eval(), build_discriminator(cfg, channels, classes).eval()
    z = torch.randn(3, cfg.z_dim)
    y = torch.tensor([0, 4, 9]) if classes else None
    with torch.no_grad():
        x = G(z, y)
        out = D(x, y)
    assert tuple(x.shape) == (3, channels, size, size)
    assert float(x.abs().max()) <= 1.0  # tanh output
    assert tuple(out.shape) == (3,)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_conditional_networks_use_the_label(arch: str) -> None:
    torch.manual_seed(0)
    cfg = _cfg(arch, 8)
    G, D = build_generator(cfg, 1, 10).eval(), build_discriminator(cfg, 1, 10).eval()
    z = torch.randn(2, cfg.z_dim)
    with torch.no_grad():
        a, b = G(z, torch.tensor([1, 1])), G(z, torch.tensor([2, 2]))
        assert not torch.allclose(a, b)
        x = torch.rand(2, 1, 8, 8) * 2 - 1
        assert not torch.allclose(D(x, torch.tensor([1, 1])), D(x, torch.tensor([2, 2])))


def _linears(m: nn.Module) -> list[tuple[int, int]]:
    return [(x.in_features, x.out_features) for x in m.modules() if isinstance(x, nn.Linear)]


def _params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_configs_build_the_networks_they_describe() -> None:
    """The original MLP at MNIST's 28x28 (z 100 -> 128 -> 128 -> 1024 -> 784), a DCGAN with its 128-unit latent, and the
    class label's way into each: the networks built, their sizes and what they compute."""
    torch.manual_seed(0)
    mlp = _cfg("mlp", 8)  # no --z-dim: the design's own latent size, in the network built from the config
    assert _linears(build_generator(mlp, 1, 0))[0] == (100, 128)
    assert _linears(build_generator(GANConfig(data="builtin:digits", arch="mlp", size=8, z_dim=64), 1, 0))[0] == (64, 128)
    G, D = MLPGenerator(mlp.z_dim, 1, 28).eval(), MLPDiscriminator(1, 28).eval()
    assert _linears(G) == [(100, 128), (128, 128), (128, 1024), (1024, 784)]
    bn = 2 * (128 + 128 + 1024)  # BatchNorm's scale and shift
    assert _params(G) == 100 * 128 + 128 + 128 * 128 + 128 + 128 * 1024 + 1024 + 1024 * 784 + 784 + bn == 967_696
    assert _params(D) == 784 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 + 1 + 2 * (1024 + 1024) == 1_858_561
    z = torch.randn(16, 100) * 5  # far out in the latent too, tanh keeps pixels in [-1, 1]
    with torch.no_grad():
        x, logits = G(z), D(G(z))
    assert x.shape == (16, 1, 28, 28) and float(x.min()) >= -1 and float(x.max()) <= 1 and bool((x.abs() < 1).any())
    assert float(x.std(0).mean()) > 0.01  # other latents, other images
    assert logits.shape == (16,) and bool(torch.isfinite(logits).all()) and float(logits.std()) > 0

    # conditional: a 32-unit class embedding joins z (G), a projection adds <embed(y), features> to the logit (D)
    Gc, Dc = MLPGenerator(100, 1, 28, num_classes=10).eval(), MLPDiscriminator(1, 28, num_classes=10).eval()
    assert _linears(Gc)[0] == (132, 128) and tuple(Gc.embed.weight.shape) == (10, 32)
    assert _params(Gc) == _params(G) + 10 * 32 + 32 * 128 and _params(Dc) == _params(D) + 10 * 1024
    z, three, five = torch.randn(4, 100), torch.full((4,), 3), torch.full((4,), 5)
    with torch.no_grad():
        a, b = Gc(z, three), Gc(z, five)
        assert (a - b).abs().max() > 1e-3 and torch.equal(a, Gc(z, three))
        Gc.embed.weight[5] = Gc.embed.weight[3]  # the label acts only through its embedding
        assert torch.equal(Gc(z, five), a)
        h = Dc.body(a)
        assert torch.allclose(Dc(a), Dc.head(h).squeeze(1))
        assert torch.allclose(Dc(a, three), Dc(a) + (Dc.embed(three) * h).sum(1), atol=1e-6)

    # dcgan: a 128-unit latent (plus the class embedding) into a 4x4 start, doubled up to 32x32 by 4x4 transposed
    # convolutions (the original, with BCE: BatchNorm in D) or by 2x resizes each followed by a 3x3 convolution
    dc = _cfg("dcgan", 32, upsample="transposed", loss="bce")
    G, D = build_generator(dc, 1, 10).eval(), build_discriminator(dc, 1, 10).eval()
    assert dc.z_dim == 128 and G.fc[0].in_features == 128 + 32
    assert _params(build_generator(dc, 1, 0)) == 76_977 and _params(build_discriminator(dc, 1, 0)) == 10_985
    convs = 32 * 16 + 16 * 8 + 8 * 1  # weights per kernel tap: 4x4 -> 8x8 -> 16x16 -> 32x32
    assert _params(build_generator(_cfg("dcgan", 32, upsample="resize"), 1, 0)) == 76_977 - (16 - 9) * convs
    # r3gan (the dcgan's default loss): D without BatchNorm (scale and shift) but with conv biases instead
    assert _cfg("dcgan", 32).loss == "r3gan" and _cfg("mlp", 32).loss == "bce"
    assert _params(build_discriminator(_cfg("dcgan", 32), 1, 0)) == 10_985 - (16 + 32)
    with torch.no_grad():
        x = G(torch.randn(4, 128), three)
    assert x.shape == (4, 1, 32, 32) and float(x.abs().max()) <= 1 and D(x, three).shape == (4,)


@pytest.mark.parametrize("channels,size", [(1, 8), (1, 28), (3, 32)])
def test_mlp_keeps_the_original_design(channels: int, size: int) -> None:
    pixels = channels * size * size
    G = MLPGenerator(100, channels, size)
    D = MLPDiscriminator(channels, size)
    assert _linears(G) == [(100, 128), (128, 128), (128, 1024), (1024, pixels)]
    assert _linears(D) == [(pixels, 1024), (1024, 1024), (1024, 1)]
    # LeakyReLU(0.2) then Keras-style BatchNorm(momentum=0.8) after each hidden layer; tanh out
    acts = [m for m in G.modules() if isinstance(m, nn.LeakyReLU)]
    bns = [m for m in G.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(acts) == 3 and all(a.negative_slope == 0.2 for a in acts)
    assert [b.num_features for b in bns] == [128, 128, 1024]
    assert all(math.isclose(b.momentum, 0.2) for b in bns)  # torch momentum = 1 - keras momentum
    assert isinstance(list(G.modules())[-1], nn.Tanh)
    assert len([m for m in D.modules() if isinstance(m, nn.LeakyReLU)]) == 2


def test_dcgan_depth_follows_size() -> None:
    def convs(m: nn.Module) -> int:
        return sum(isinstance(x, (nn.Conv2d, nn.ConvTranspose2d)) for x in m.modules())

    for size in (8, 16, 32, 64):
        cfg = _cfg("dcgan", size)
        depth = int(math.log2(size)) - 2
        assert convs(build_generator(cfg, 3, 0)) == depth
        assert convs(build_discriminator(cfg, 3, 0)) == depth


# --- losses ------------------------------------------------------------------------------------------


def test_losses_at_zero_logits() -> None:
    zero = torch.zeros(4)
    assert math.isclose(float(d_loss("bce", zero, zero)), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(float(g_loss("bce", zero)), math.log(2), rel_tol=1e-6)
    assert math.isclose(float(d_loss("hinge", zero, zero)), 2.0)
    # a confident, correct discriminator has a small loss; a fooled one a large one
    big = torch.full((4,), 10.0)
    assert float(d_loss("bce", big, -big)) < 1e-3 < float(d_loss("bce", -big, big))
    assert float(d_loss("hinge", big, -big)) == 0.0


def test_discriminator_learns_real_digits_from_noise() -> None:
    """A toy sanity check of the loss and the D network: D loss on real vs noise goes down over 30 steps."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    D = build_discriminator(_cfg("dcgan", 8), 1, 0)
    D.apply(init_weights)
    opt = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real_all = to_unit(load_builtin("digits", 8).images)
    losses = []
    for _ in range(30):
        real = real_all[torch.randint(len(real_all), (32,), generator=g)]
        noise = torch.rand(32, 1, 8, 8, generator=g) * 2 - 1
        loss = d_loss("bce", D(real), D(noise))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert first > 1.2 and last < first - 0.3, losses


def test_diff_augment_keeps_shape_and_gradients() -> None:
    x = (torch.rand(4, 3, 8, 8) * 2 - 1).requires_grad_(True)
    y = diff_augment(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


# --- latents ----------------------------------------------------------------------------------------


def test_seed_latents_are_addressable() -> None:
    z5, _ = seed_latent(5, 16)
    z, _ = seed_latents([3, 5, 7], 16)
    assert torch.equal(z[1], z5)
    assert not torch.equal(z[0], z[1])
    zt, _ = seed_latent(5, 64, truncation=0.5)
    assert float(zt.abs().max()) <= 0.5
    _, labels = seed_latents(list(range(50)), 8, num_classes=10)
    assert labels.min() >= 0 and labels.max() <= 9 and len(set(labels.tolist())) > 3
    _, none = seed_latents([1, 2], 8)
    assert none.tolist() == [-1, -1]


def test_slerp_endpoints_and_norm() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(32, generator=g), 2 * torch.randn(32, generator=g)
    out = slerp(a, b, torch.tensor([0.0, 0.5, 1.0]))
    assert out.shape == (3, 32)
    assert torch.allclose(out[0], a, atol=1e-5) and torch.allclose(out[2], b, atol=1e-5)
    assert math.isclose(float(out[1].norm()), float(a.norm() + b.norm()) / 2, rel_tol=1e-4)
    same = slerp(a, a, torch.tensor([0.0, 0.3, 1.0]))  # parallel vectors fall back to a straight line
    assert torch.allclose(same, a.expand(3, -1), atol=1e-5)


def test_walk_passes_through_its_keys() -> None:
    keys = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
    path = walk(keys, 9, loop=False)
    assert path.shape == (9, 8)
    assert torch.allclose(path[0], keys[0], atol=1e-5)
    assert torch.allclose(path[4], keys[1], atol=1e-5)
    assert torch.allclose(path[-1], keys[-1], atol=1e-5)
    looped = walk(keys, 9, loop=True)
    assert torch.allclose(looped[0], keys[0], atol=1e-5)
    assert torch.allclose(looped[3], keys[1], atol=1e-5) and torch.allclose(looped[6], keys[2], atol=1e-5)


@pytest.mark.parametrize("text,seeds", [("0-15", list(range(16))), ("3,7,9", [3, 7, 9]), ("0-3,10", [0, 1, 2, 3, 10]),
                                        ("5", [5]), (" 2 - 4 , 8", [2, 3, 4, 8])])
def test_parse_seeds(text: str, seeds: list[int]) -> None:
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "5-2", "a", "1-", "-3", "1,,2", f"0-{MAX_N}"])
def test_parse_seeds_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_seeds(text)


# --- sampling from a trained run (the Python API) ----------------------------------------------------


def test_same_seed_same_image(digits_run: Path) -> None:
    a = genart.load(str(digits_run)).generate(16, seed=7)
    b = genart.load(str(digits_run)).generate(16, seed=7)  # a second load: nothing carried over
    assert [im.tobytes() for im in a] == [im.tobytes() for im in b]
    c = genart.load(str(digits_run)).generate(16, seed=8)
    assert [im.tobytes() for im in a] != [im.tobytes() for im in c]


def test_images_are_addressable_by_seed(digits_run: Path) -> None:
    model = genart.load(str(digits_run))
    by_seeds = model.generate_tensor(seeds=parse_seeds("5-8"))
    by_grid = model.generate_tensor(n=4, seed=5)
    assert torch.equal(by_seeds, by_grid)
    # the image for seed 7 does not depend on what is generated alongside it (up to float rounding)
    alone = model.generate_tensor(seeds=[7])
    in_batch = model.generate_tensor(seeds=list(range(16)))
    assert torch.allclose(alone[0], by_seeds[2], atol=1e-5)
    assert torch.allclose(in_batch[7], by_seeds[2], atol=1e-5)


def test_generate_options(digits_run: Path) -> None:
    model = genart.load(str(digits_run))
    assert model.kind == "gan" and model.step == 20 and model.classes == [str(i) for i in range(10)]
    x = model.generate_tensor(n=4, seed=0, truncation=0.7, cls_="3")
    assert tuple(x.shape) == (4, 1, 8, 8)
    _, y = model.latents([0, 1, 2, 3], cls_=3)
    assert y.tolist() == [3, 3, 3, 3]
    assert not torch.equal(x, model.generate_tensor(n=4, seed=0))
    with pytest.raises(ConfigError):
        model.generate_tensor(n=4, cls_="11")
    with pytest.raises(ConfigError):
        model.generate_tensor(n=4, truncation=0)
    with pytest.raises(ConfigError):
        model.generate_tensor(n=0)
    frames = model.walk_tensor(frames=6, seed=0, keys=3)
    assert tuple(frames.shape) == (6, 1, 8, 8)
    pil = model.generate(2, seed=1)
    assert [im.size for im in pil] == [(8, 8), (8, 8)] and pil[0].mode == "L"


def test_class_on_unconditional_run_is_an_error(uncond_run: Path) -> None:
    model = genart.load(str(uncond_run))
    assert model.classes == []
    with pytest.raises(ConfigError, match="not trained with classes"):
        model.generate_tensor(n=2, cls_="3")


# --- the shared optimizer step (Trainable.optimize): fp16 loss scaling ---------------------------------


def _tiny_gan(precision: str):
    from genart.core.registry import get_kind
    from genart.kinds.gan.model import GANTrainable

    cfg = GANConfig(data="builtin:digits", arch="mlp", size=8, batch=16, labels="none", augment="off", device="cpu")
    cfg.validate()
    data = get_kind("gan").load_data(cfg, {})
    torch.manual_seed(0)
    return GANTrainable(cfg, data, torch.device("cpu"), precision, torch.Generator().manual_seed(1))


def test_fp16_grad_scaler_steps_and_is_checkpointed(tmp_path: Path) -> None:
    """The GradScaler path (fp16 is for CUDA, refused on CPU by the trainer; torch's CPU scaler runs the same code):
    finite losses, the scale updated once per step (after D's and G's optimizers), saved and restored; checkpoints
    without a scaler (fp32, bf16, older runs) load either way."""
    from genart.core.checkpoints import load_checkpoint, save_checkpoint

    model = _tiny_gan("fp16")
    for step in range(3):
        assert all(torch.isfinite(v).all() for v in model.train_step(step).values())
    saved = model.state()["scaler"]
    if saved["scale"] == 65536.0:  # no overflow: one update per step, not one per optimizer
        assert saved["_growth_tracker"] == 3, saved
    save_checkpoint(tmp_path / "c.safetensors", model.state(), {})
    state, _ = load_checkpoint(tmp_path / "c.safetensors")
    again = _tiny_gan("fp16")
    again.load_state(state)
    assert again.scaler.state_dict() == model.scaler.state_dict()

    plain = _tiny_gan("fp32")
    assert plain.scaler is None and "scaler" not in plain.state()
    plain.load_state(state)  # an fp16 checkpoint in a run resumed in fp32: the scaler is not needed
    fresh = _tiny_gan("fp16")
    fresh.load_state(plain.state())  # no scaler in the checkpoint: it starts at its initial scale
    assert fresh.scaler.get_scale() == 65536.0


def test_idle_cores_counts_the_core_another_process_keeps_busy() -> None:
    import os
    import subprocess
    import sys

    from genart.core.device import busy_cores, idle_cores

    if busy_cores(0.05) is None:
        pytest.skip("no /proc/stat here")
    spinner = subprocess.Popen([sys.executable, "-u", "-c", "print('spinning'); exec('while True: pass')"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert spinner.stdout is not None and spinner.stdout.readline().strip() == "spinning"  # it is running now
        assert busy_cores(0.25) >= 0.7  # the spinner keeps one core busy
        assert idle_cores() <= max(1, (os.cpu_count() or 1) - 1)
    finally:
        spinner.kill()
        spinner.wait()
