"""`genart generate` on runs with a denoiser: sampling steps, sampler and guidance (reproducible, in the provenance,
refused by runs without a denoiser) and image-to-image from --init-image at a --strength."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, train_tiny, train_tiny_diffusion
from PIL import Image

import genart
from genart.core.errors import ConfigError, GenartError
from genart.generate import GenerateOptions, run_generate
from genart.inpaint import load_image
from genart.io.images import read_png_text


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A class-conditional diffusion run on digits and a tiny GAN (no denoiser)."""
    root = tmp_path_factory.mktemp("denoise")
    return {"diffusion": train_tiny_diffusion(root / "diffusion"), "gan": train_tiny(root / "gan", steps=5)}


@pytest.fixture(scope="module")
def model(runs: dict[str, Path]) -> genart.api.Model:
    return genart.load(runs["diffusion"], device="cpu")


def one_line_error(rc: int, err: str, *fragments: str) -> None:
    assert rc == 2 and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) <= 2 and lines[0].startswith("error:") and all(f in lines[0] for f in fragments), err


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img).astype(np.int16)


def individual(model, tmp_path: Path, name: str, **options) -> list[np.ndarray]:
    """Generate through the service with --individual; the run-size images, in seed order."""
    folder = tmp_path / name
    run_generate(model, GenerateOptions(out=tmp_path / f"{name}.png", individual=folder, **options))
    return [pixels(p) for p in sorted(folder.glob("seed-*.png"))]


def test_the_cli_takes_the_settings_and_records_them(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    rc, stdout, err = run_cli("generate", runs["diffusion"], "--n", "4", "--seed", "7", "--sample-steps", "3",
                              "--sampler", "heun", "--guidance", "2.0", "--class", "3", "--out", out,
                              "--device", "cpu")
    assert rc == 0, err
    assert "wrote" in stdout and out.is_file()
    text = read_png_text(out)
    assert (text["genart:sample_steps"], text["genart:sampler"], text["genart:guidance"]) == ("3", "heun", "2.0")
    assert text["genart:seeds"] == "7-10" and text["genart:class"] == "3" and text["AI-generated"] == "true"


def test_seeds_reproduce_and_the_sampler_matters(model, tmp_path: Path) -> None:
    before = model.sampler.settings()
    settings = dict(n=3, seed=5, sample_steps=4, guidance=1.5)
    a = individual(model, tmp_path, "a", sampler="dpm", **settings)
    b = individual(model, tmp_path, "b", sampler="dpm", **settings)
    c = individual(model, tmp_path, "c", sampler="euler", **settings)
    assert len(a) == 3 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))  # same seed, same image
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))  # another sampler, another image
    # seed k gives the same image whatever else is generated with it
    alone = individual(model, tmp_path, "alone", sampler="dpm", seeds="6", **{k: v for k, v in settings.items() if k != "n"})
    assert np.array_equal(alone[0], a[1])
    text = read_png_text(tmp_path / "c.png")
    assert text["genart:sampler"] == "euler" and text["genart:sample_steps"] == "4"
    assert model.sampler.settings() == before  # the run's own settings come back after generating


def test_out_of_range_settings_are_one_line_errors(model, tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    for options, fragment in (({"sample_steps": 0}, "--sample-steps 0"), ({"sampler": "ddpm"}, "--sampler"),
                              ({"guidance": 25.0}, "--guidance 25"), ({"strength": 0.5}, "--strength needs --init-image")):
        with pytest.raises(ConfigError, match=fragment):
            run_generate(model, GenerateOptions(out=out, n=2, **options))
    assert not out.exists()


def test_denoiser_options_on_a_gan_run_are_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    rc, _, err = run_cli("generate", runs["gan"], "--n", "4", "--sample-steps", "8", "--out", tmp_path / "g.png",
                         "--device", "cpu")
    one_line_error(rc, err, "--sample-steps", "needs a run with a denoiser")
    assert not (tmp_path / "g.png").exists()
    gan = genart.load(runs["gan"], device="cpu")
    init = tmp_path / "init.png"
    Image.new("L", (16, 16), 128).save(init)
    for options, flag in (({"sampler": "euler"}, "--sampler"), ({"guidance": 2.0}, "--guidance"),
                          ({"init_image": init}, "--init-image"), ({"init_image": init, "strength": 0.5}, "--init-image")):
        with pytest.raises(GenartError, match=f"{flag} needs a run with a denoiser"):
            run_generate(gan, GenerateOptions(out=tmp_path / "g.png", n=2, **options))


def test_init_image_strength_sets_how_close_the_images_stay(model, tmp_path: Path) -> None:
    init = tmp_path / "init.png"
    a = np.zeros((24, 24), np.uint8)  # a bright ring on black, larger than the run: fitted to 16x16
    yy, xx = np.mgrid[:24, :24]
    a[(np.hypot(yy - 12, xx - 12) > 5) & (np.hypot(yy - 12, xx - 12) < 9)] = 255
    Image.fromarray(a).save(init)
    fitted = ((load_image(model, init)[0, 0].numpy() + 1) * 127.5).round()
    near = individual(model, tmp_path, "near", n=4, init_image=init, strength=0.3, sample_steps=4)
    far = individual(model, tmp_path, "far", n=4, init_image=init, strength=1.0, sample_steps=4)

    def distance(images: list[np.ndarray]) -> float:
        return float(np.mean([np.abs(x - fitted).mean() for x in images]))

    assert distance(near) < 0.5 * distance(far), (distance(near), distance(far))
    text = read_png_text(tmp_path / "near.png")
    assert text["genart:strength"] == "0.3" and text["genart:init_image"] == "init.png"
    assert len(text["genart:init_image_sha256"]) == 64
    with pytest.raises(ConfigError, match="--strength 1.5 is out of range"):
        run_generate(model, GenerateOptions(out=tmp_path / "x.png", n=2, init_image=init, strength=1.5))
    with pytest.raises(ConfigError, match="--strength 0 is out of range"):
        run_generate(model, GenerateOptions(out=tmp_path / "x.png", n=2, init_image=init, strength=0.0))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(GenartError, match="broken.png is not a usable image"):
        run_generate(model, GenerateOptions(out=tmp_path / "x.png", n=2, init_image=broken))
