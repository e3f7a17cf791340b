"""The diffusion kind: paths, samplers (checked against the exact solution for Gaussian data), the UNet at any size
it takes, and tiny real runs: memorising two images, seeds, image-to-image, inpainting, guidance, resume after
SIGKILL and two processes under torchrun."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest
import torch
from conftest import popen_cli, run_cli

import genart
from genart.core.checkpoints import load_checkpoint
from genart.core.errors import ConfigError
from genart.kinds.diffusion.config import DiffusionConfig
from genart.kinds.diffusion.paths import OBJECTIVES
from genart.kinds.diffusion.paths import Path as NoisePath
from genart.kinds.diffusion.samplers import SAMPLERS, sample
from genart.kinds.diffusion.unet import UNet, levels

TINY = ["--size", "16", "--width", "8", "--batch", "16", "--sample-steps", "4", "--log-every", "5", "--device", "cpu"]


# --- paths and samplers against the exact answer ---------------------------------------------------------------


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_a_perfect_prediction_gives_back_the_image_and_the_noise(objective: str) -> None:
    path = NoisePath(objective)
    g = torch.Generator().manual_seed(0)
    x0, eps, t = torch.randn(5, 1, 4, 4, generator=g), torch.randn(5, 1, 4, 4, generator=g), torch.rand(5, generator=g)
    xt, target = path.noised(x0, eps, t)
    x0_hat, eps_hat = path.split(xt, target, t)
    assert torch.allclose(x0_hat, x0, atol=1e-5) and torch.allclose(eps_hat, eps, atol=1e-5)


def gaussian_denoiser(path: NoisePath, mu: float, s: float):  # noqa: ANN202
    """The exact E[x0 | x_t] for data N(mu, s^2) per pixel: the perfect network."""

    def denoise(x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        a, sg = (float(c) for c in path.alpha_sigma(torch.tensor(t, dtype=torch.float64)))
        x0 = mu + a * s * s / (a * a * s * s + sg * sg) * (x - a * mu)
        eps = (x - a * x0) / sg if sg > 0 else torch.zeros_like(x)
        return x0, eps

    return denoise


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_samplers_reach_the_exact_ode_solution_and_second_order_ones_sooner(objective: str) -> None:
    """For Gaussian data the probability-flow ODE maps noise e to mu + s * e exactly."""
    path, mu, s = NoisePath(objective), 0.3, 0.5
    noise = torch.randn(64, 1, 4, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    exact = mu + s * noise
    errors = {}
    for method in SAMPLERS:
        for steps in (8, 64):
            out = sample(path, gaussian_denoiser(path, mu, s), noise, steps, method, shift=1.0)  # an even grid
            errors[method, steps] = float((out - exact).abs().max())
    for method in SAMPLERS:  # first order (euler) and second order (heun, dpm) converge
        assert errors[method, 64] < (0.06 if method == "euler" else 0.01), errors
        assert errors[method, 64] < errors[method, 8] / 4, errors
    assert errors["heun", 8] < errors["euler", 8] and errors["dpm", 8] < errors["euler", 8], errors


def test_image_to_image_and_inpainting_with_the_exact_denoiser() -> None:
    path = NoisePath("flow")
    denoise = gaussian_denoiser(path, 0.0, 1.0)
    g = torch.Generator().manual_seed(2)
    init, noise = torch.rand(2, 1, 8, 8, generator=g) * 2 - 1, torch.randn(2, 1, 8, 8, generator=g)
    assert torch.equal(sample(path, denoise, noise, 8, "dpm", init=init, strength=0.0), init)
    near = sample(path, denoise, noise, 8, "dpm", init=init, strength=0.2)
    far = sample(path, denoise, noise, 8, "dpm", init=init, strength=1.0)
    assert (near - init).abs().mean() < 0.5 * (far - init).abs().mean()
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1
    out = sample(path, denoise, noise, 8, "heun", init=init, mask=mask)
    assert torch.equal(out[..., :2, :], init[..., :2, :])  # kept exactly outside the mask
    assert not torch.allclose(out[..., 2:6, 2:6], init[..., 2:6, 2:6])


# --- the network and its sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "patch", "classes"), [(16, 1, 0), (24, 2, 10), (40, 2, 0), (64, 2, 3)])
def test_the_unet_takes_sizes_that_are_not_powers_of_two(size: int, patch: int, classes: int) -> None:
    net = UNet(3, size, 8, classes, patch).eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        out = net(x, torch.rand(2), torch.tensor([0, 1]) if classes else None)
    assert out.shape == x.shape
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # GroupNorm only: no batch leakage
    assert len(levels(size // patch)) >= 2


def test_sizes_the_unet_cannot_take_are_refused_naming_the_nearest() -> None:
    cfg = DiffusionConfig(data="builtin:digits", size=33)
    with pytest.raises(ConfigError) as e:
        cfg.validate()
    assert "--size 33" in str(e.value) and "32 or 36" in e.value.hint  # 34 = 2 x 17 cannot halve after the patch
    cfg = DiffusionConfig(data="builtin:digits", size=28)
    cfg.validate()
    assert cfg.patch == 1  # below 32 px: no patch
    rc, _, err = run_cli("train", "diffusion", "--data", "builtin:digits", "--size", "8", "--out", "/nonexistent/x")
    assert rc != 0 and "too small for the diffusion kind" in err and "Traceback" not in err


# --- tiny real runs -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run that has memorised two images (a red square on blue, a white disc on black)."""
    from PIL import Image, ImageDraw

    root = tmp_path_factory.mktemp("two")
    folder = root / "data"
    folder.mkdir()
    a = Image.new("RGB", (16, 16), (20, 40, 200))
    ImageDraw.Draw(a).rectangle((4, 4, 11, 11), fill=(230, 20, 20))
    b = Image.new("RGB", (16, 16), (0, 0, 0))
    ImageDraw.Draw(b).ellipse((3, 3, 12, 12), fill=(255, 255, 255))
    a.save(folder / "a.png")
    b.save(folder / "b.png")
    run = root / "run"
    rc, _, err = run_cli("train", "diffusion", "--data", folder, "--out", run, "--steps", "150", "--lr", "3e-3",
                         "--ema", "0.9", "--sample-every", "0", *TINY, timeout=300)
    assert rc == 0, err
    return folder, run


def test_a_tiny_run_learns_its_data(two_images: tuple[Path, Path]) -> None:
    """Trained on two images, every sample is close to one of them: the whole loop and sampler work."""
    from genart.data.user_images import image_files, read_image
    from genart.io.images import to_signed

    folder, run = two_images
    model = genart.load(run)
    images = model.generate_tensor(seeds=list(range(8)))
    refs = torch.stack([to_signed(torch.from_numpy(read_image(p, 16, "crop", 3))) for p, _ in image_files([folder])])
    nearest, which = torch.cdist(images.flatten(1), refs.flatten(1)).min(1)
    noise = torch.cdist(torch.rand(8, 3 * 16 * 16) * 2 - 1, refs.flatten(1)).min(1).values
    assert float(nearest.max()) < 0.65 * float(noise.min()), (nearest, noise)  # 150 steps: the images, a little noisy
    assert set(which.tolist()) == {0, 1}  # both of them


def test_seeds_are_reproducible_whatever_comes_alongside(two_images: tuple[Path, Path]) -> None:
    model = genart.load(two_images[1])
    alone = model.generate_tensor(seeds=[5])
    among = model.generate_tensor(seeds=[3, 4, 5])
    assert torch.allclose(alone[0], among[2], atol=1e-5)
    assert not torch.allclose(among[0], among[1])
    model.sampler.configure(steps=8, method="heun")
    assert not torch.allclose(model.generate_tensor(seeds=[5])[0], alone[0])
    with pytest.raises(ConfigError):
        model.sampler.configure(steps=0)


def test_image_to_image_and_inpainting_on_a_trained_run(two_images: tuple[Path, Path]) -> None:
    model = genart.load(two_images[1])
    z, y = model.latents([1, 2])
    init = torch.zeros(2, 3, 16, 16)
    init[:, 2] = 0.8  # a plain blue field
    weak = model.sampler.repaint(init, z, y, strength=0.1)
    strong = model.sampler.repaint(init, z, y, strength=1.0)
    assert (weak - init).abs().mean() < 0.5 * (strong - init).abs().mean()
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    filled = model.sampler.repaint(init, z, y, mask=mask)
    assert torch.equal(filled[..., :4, :], init[..., :4, :])
    assert (filled[..., 4:12, 4:12] - init[..., 4:12, 4:12]).abs().mean() > 0.1


def test_class_conditional_runs_follow_the_class_and_guidance(tmp_path: Path) -> None:
    run = tmp_path / "cond"
    rc, _, err = run_cli("train", "diffusion", "--data", "builtin:digits", "--out", run, "--steps", "20",
                         "--sample-every", "0", *TINY)
    assert rc == 0, err
    model = genart.load(run)
    assert model.classes and model.sampler.settings()["guidance"] == 2.0
    a = model.generate_tensor(seeds=[0], cls_="3")
    b = model.generate_tensor(seeds=[0], cls_="7")
    model.sampler.configure(guidance=1.0)
    c = model.generate_tensor(seeds=[0], cls_="3")
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_killed_mid_training_it_resumes_to_the_run_that_was_never_killed(tmp_path: Path) -> None:
    def command(out: Path) -> list[str | Path]:
        return ["train", "diffusion", "--data", "builtin:abstract", "--out", out, "--steps", "20", "--save-every",
                "0.000001", "--sample-every", "5", *TINY]

    killed = tmp_path / "killed"
    proc = popen_cli(*command(killed))
    watchdog = threading.Timer(120, proc.kill)  # a hung run fails the test instead of hanging it
    watchdog.start()
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # "step 5 ..." comes after step 5's preview: checkpoints of earlier steps exist
            if line.startswith("step 5 "):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        watchdog.cancel()
    assert proc.wait() == -signal.SIGKILL
    rc, _, err = run_cli(*command(killed))
    assert rc == 0 and "resuming from step" in err, err
    rc, _, err = run_cli(*command(tmp_path / "whole"))
    assert rc == 0, err
    a, info_a = load_checkpoint(killed / "checkpoints" / "last.safetensors")
    b, info_b = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.safetensors")
    assert info_a["step"] == info_b["step"] == 20
    assert all(torch.equal(a["model"]["ema"][k], v) for k, v in b["model"]["ema"].items())
