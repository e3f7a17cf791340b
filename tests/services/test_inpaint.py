"""`genart inpaint` and genart.inpaint: the masked area regenerated, every other pixel kept exactly, provenance naming
the files, variants per seed, masks in any mode, and one-line errors for what cannot be used."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import noise_rgb, run_cli, train_tiny, train_tiny_diffusion
from PIL import Image

import genart
from genart.core.errors import ConfigError, DataError, GenartError
from genart.data.user_images import read_mask
from genart.inpaint import inpaint, inpaint_files, load_image, load_mask
from genart.io.images import read_png_text


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An unconditional colour diffusion run (3 channels, no classes)."""
    return train_tiny_diffusion(tmp_path_factory.mktemp("inpaint") / "abstract", data="builtin:abstract", labels="none")


@pytest.fixture(scope="module")
def model(run: Path) -> genart.api.Model:
    return genart.load(run, device="cpu")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A non-square noise image and its mask (white rectangle in the middle, the same size), as PNG files."""
    image, mask = tmp_path / "in.png", tmp_path / "mask.png"
    noise_rgb(30, 24, seed=3).save(image)
    m = np.zeros((24, 30), np.uint8)
    m[6:18, 9:21] = 255
    Image.fromarray(m).save(mask)
    return image, mask


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB")).astype(np.int16)


def test_inpaint_keeps_the_unmasked_pixels_and_changes_the_masked_ones(run: Path, model, files, tmp_path: Path) -> None:
    image, mask = files
    out = tmp_path / "out.png"
    rc, stdout, err = run_cli("inpaint", run, "--image", image, "--mask", mask, "--out", out, "--seed", "4",
                              "--sample-steps", "3", "--sampler", "euler", "--device", "cpu")
    assert rc == 0, err
    assert "wrote" in stdout
    got = pixels(out)
    fitted = ((load_image(model, image)[0].permute(1, 2, 0).numpy() + 1) * 127.5).round()
    m = load_mask(model, mask)[0, 0].numpy().astype(bool)
    assert got.shape == (16, 16, 3) and 0.1 < m.mean() < 0.9
    assert np.abs(got[~m] - fitted[~m]).max() <= 1  # kept, within rounding
    assert np.abs(got[m] - fitted[m]).mean() > 10  # regenerated
    text = read_png_text(out)
    assert text["genart:image"] == "in.png" and text["genart:mask"] == "mask.png"
    assert text["genart:image_sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert text["genart:mask_sha256"] == hashlib.sha256(mask.read_bytes()).hexdigest()
    assert text["genart:seeds"] == "4" and text["genart:sampler"] == "euler" and text["genart:sample_steps"] == "3"
    assert text["AI-generated"] == "true" and "genart:guidance" not in text  # no classes: no guidance
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically: no temporary left


def test_variants_follow_their_seeds(model, files, tmp_path: Path) -> None:
    image, mask = files
    message = inpaint_files(model, image, mask, tmp_path / "grid.png", seed=0, n=3, steps=2)
    assert "3 variants" in message and read_png_text(tmp_path / "grid.png")["genart:seeds"] == "0-2"
    x, m = load_image(model, image), load_mask(model, mask)
    three = inpaint(model, x, m, [0, 1, 2])
    alone = inpaint(model, x, m, [2])
    assert torch.allclose(three[2], alone[0], atol=1e-5)  # seed 2 gives the same variant however many are made
    assert not torch.allclose(three[0], three[1], atol=1e-3)
    keep = m.expand_as(three) == 0
    assert torch.equal(three[keep], x.expand_as(three)[keep])  # exactly, before rounding to pixels


def test_masks_in_any_mode(tmp_path: Path) -> None:
    size, fit = 8, "crop"
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = 255  # white everywhere, but only the left half opaque: transparent counts as keep
    rgba[:, :4, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    m = read_mask(tmp_path / "rgba.png", size, fit)
    assert m[:, :4].all() and not m[:, 4:].any()
    bits = Image.new("1", (16, 16), 0)
    bits.paste(1, (0, 0, 16, 8))
    bits.save(tmp_path / "bits.png")
    m = read_mask(tmp_path / "bits.png", size, fit)
    assert m.shape == (8, 8) and m[:4].all() and not m[4:].any()
    Image.new("RGB", (8, 8), (100, 100, 100)).save(tmp_path / "dark.jpg")  # grey below one half: keep
    assert not read_mask(tmp_path / "dark.jpg", size, fit).any()
    assert read_mask((tmp_path / "bits.png").read_bytes(), size, fit).sum() == m.sum()  # bytes as files


def test_bad_inputs_are_one_line_errors(run: Path, model, files, tmp_path: Path) -> None:
    image, mask = files
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    out = tmp_path / "out.png"
    rc, _, err = run_cli("inpaint", run, "--image", image, "--mask", broken, "--out", out, "--device", "cpu")
    assert rc == 2 and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0].startswith("error: the mask") and "broken.png is not a usable image" in lines[0]
    assert not out.exists()
    black = tmp_path / "black.png"
    Image.new("L", (20, 20), 0).save(black)
    with pytest.raises(DataError, match="marks nothing to regenerate"):
        inpaint_files(model, image, black, out)
    with pytest.raises(DataError, match="no such file"):
        inpaint_files(model, tmp_path / "missing.png", mask, out)
    with pytest.raises(DataError, match="no such file"):
        inpaint_files(model, image, tmp_path / "missing.png", out)
    with pytest.raises(ConfigError, match="should be a .png"):
        inpaint_files(model, image, mask, tmp_path / "out.jpg")
    with pytest.raises(ConfigError, match="needs a class-conditional run"):
        inpaint_files(model, image, mask, out, guidance=2.0)
    with pytest.raises(ConfigError, match="--n 0"):
        inpaint_files(model, image, mask, out, n=0)
    assert not out.exists()
    gan = genart.load(train_tiny(tmp_path / "gan", steps=2), device="cpu")
    with pytest.raises(GenartError, match="genart inpaint needs a run with a denoiser"):
        inpaint_files(gan, image, mask, out)
