"""Data sources: built-in sets and messy image folders, decoded into tensors with an honest report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import (
    animated_gif,
    exif_rotated_jpeg,
    grey_image,
    noise_rgb,
    palette_image,
    rgba_transparent,
    sixteen_bit,
)
from PIL import Image, ImageOps

import genart.data.images as images_mod
from genart.core.errors import ConfigError, DataError
from genart.data.builtin import load_builtin
from genart.data.image_config import base_resolution, multiple_of, nearest_sizes
from genart.data.image_data import load_images
from genart.data.images import decode_image, load_folder
from genart.kinds.gan.config import GANConfig

# --- built-in data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [8, 16])
def test_builtin_digits_shapes_and_classes(size: int) -> None:
    data = load_builtin("digits", size)
    assert tuple(data.images.shape) == (1797, 1, size, size)
    assert data.images.dtype == torch.uint8
    assert data.classes == [str(i) for i in range(10)]
    assert data.labels is not None and data.labels.shape == (1797,)
    assert set(data.labels.tolist()) == set(range(10))
    assert data.report["files"] == data.report["used"] == 1797 and data.report["skipped"] == 0
    assert sum(data.report["classes"].values()) == 1797
    assert int(data.images.max()) > 200 and int(data.images.min()) == 0  # uses the full range


def test_builtin_abstract_is_colour_with_three_motifs() -> None:
    data = load_builtin("abstract", 8, count=9)
    assert tuple(data.images.shape) == (9, 3, 8, 8)
    assert data.classes == ["circles", "bands", "arcs"]
    assert data.labels.tolist() == [0, 1, 2] * 3
    # colourful: the channels differ somewhere
    assert not torch.equal(data.images[:, 0], data.images[:, 1])
    # deterministic: genart paints the same set every time
    assert torch.equal(data.images, load_builtin("abstract", 8, count=9).images)


def test_builtin_channel_override() -> None:
    data = load_builtin("digits", 8, channels="3")
    assert tuple(data.images.shape) == (1797, 3, 8, 8)
    assert torch.equal(data.images[:, 0], data.images[:, 1])
    assert data.report["channels"] == 3


def test_labels_none_drops_builtin_classes() -> None:
    cfg = GANConfig(data="builtin:digits", size=8, labels="none")
    data = load_images(cfg)
    assert data.labels is None and data.classes == [] and "classes" not in data.report


def test_unknown_builtin_is_a_data_error() -> None:
    with pytest.raises(DataError, match="nope"):
        load_builtin("nope", 8)


# --- the messy folder --------------------------------------------------------------------------------


def test_messy_folder_ingests_with_a_complete_report(messy_folder: tuple[Path, dict]) -> None:
    root, expected = messy_folder
    data = load_folder(root, 16)
    report = data.report
    skipped = {s["file"]: s["reason"] for s in report["skipped_files"]}

    assert sorted(skipped) == sorted(expected["skipped"])
    assert all(reason.strip() for reason in skipped.values())
    assert report["used"] == len(data) == len(expected["used"])
    assert report["skipped"] == len(report["skipped_files"]) == len(expected["skipped"])
    assert report["files"] == report["used"] + report["skipped"]  # every counted file is used or explained
    for hidden in expected["hidden"]:  # hidden files and folders are neither counted nor reported
        assert hidden not in skipped and Path(hidden).name not in " ".join(skipped)
    assert tuple(data.images.shape) == (len(expected["used"]), 4, 16, 16)  # rgba.png has real transparency
    assert report["channels"] == 4 and report["size"] == 16 and len(report["content_hash"]) == 16

    assert "empty" in skipped["empty.png"]
    assert "truncated" in skipped["truncated.png"]
    assert "not an image" in skipped["text.png"]
    assert "symlink" in skipped["link.png"] and "leaves" in skipped["link.png"]
    assert "not an image file type" in skipped["notes.txt"]


def test_every_format_in_the_messy_folder_decodes(messy_folder: tuple[Path, dict]) -> None:
    root, expected = messy_folder
    for name in expected["used"]:
        arr, grey, alpha = decode_image(root / name, 8, "crop")
        assert arr.shape == (8, 8, 4) and arr.dtype == np.uint8, name
    assert decode_image(root / "grey.png", 8, "crop")[1] is True
    assert decode_image(root / "deep16.png", 8, "crop")[1] is True
    assert decode_image(root / "rgba.png", 8, "crop")[2] is True
    assert decode_image(root / "palette_transparent.png", 8, "crop")[2] is True
    assert decode_image(root / "palette.png", 8, "crop")[2] is False


def test_content_hash_follows_the_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    noise_rgb(8, 8, seed=1).save(tmp_path / "a" / "x.png")
    h1 = load_folder(tmp_path / "a", 8).report["content_hash"]
    assert load_folder(tmp_path / "a", 8).report["content_hash"] == h1
    noise_rgb(8, 8, seed=2).save(tmp_path / "a" / "x.png")
    assert load_folder(tmp_path / "a", 8).report["content_hash"] != h1


# --- channel rules -----------------------------------------------------------------------------------


def _folder(tmp_path: Path, name: str, images: dict[str, Image.Image]) -> Path:
    root = tmp_path / name
    root.mkdir()
    for fname, img in images.items():
        img.save(root / fname)
    return root


def test_all_grey_folder_gives_one_channel(tmp_path: Path) -> None:
    grey_palette = grey_image().convert("P")
    grey_palette.putpalette([v for i in range(256) for v in (i, i, i)])
    root = _folder(tmp_path, "grey", {"a.png": grey_image(), "b.png": sixteen_bit(), "c.jpg": grey_image(),
                                      "d.png": grey_palette, "e.png": grey_image().convert("RGB")})
    data = load_folder(root, 8)
    assert data.channels == 1 and tuple(data.images.shape) == (5, 1, 8, 8)


def test_opaque_colour_folder_gives_three_channels(tmp_path: Path) -> None:
    opaque_rgba = noise_rgb(16, 16).convert("RGBA")  # has an alpha band, but no transparency
    root = _folder(tmp_path, "rgb", {"a.png": grey_image(), "b.png": noise_rgb(16, 16), "c.png": opaque_rgba,
                                     "d.png": palette_image(False)})
    assert load_folder(root, 8).channels == 3


@pytest.mark.parametrize("transparent", ["rgba", "palette"])
def test_any_real_transparency_gives_four_channels(tmp_path: Path, transparent: str) -> None:
    img = rgba_transparent() if transparent == "rgba" else palette_image(True)
    root = _folder(tmp_path, "alpha", {"a.png": noise_rgb(16, 16), "b.png": grey_image(), "t.png": img})
    data = load_folder(root, 8)
    assert data.channels == 4
    assert int(data.images[:, 3].min()) < 255


def test_transparency_becomes_white_without_alpha(tmp_path: Path) -> None:
    root = _folder(tmp_path, "t", {"t.png": rgba_transparent(16, 16)})
    data = load_folder(root, 8, channels="3")
    top, bottom = data.images[0, :, :3], data.images[0, :, 5:]
    assert (top >= 250).all()  # the transparent half is composited on white (resampling may ring by a level or two)
    assert bottom[0].float().mean() > 150 and bottom[1].float().mean() < 100  # the opaque half keeps its colour


# --- geometry ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_fit_modes_give_the_requested_size(tmp_path: Path, fit: str) -> None:
    root = _folder(tmp_path, "geo", {"wide.png": noise_rgb(48, 16), "tall.png": noise_rgb(10, 30, seed=2),
                                     "square.png": noise_rgb(20, 20, seed=3)})
    data = load_folder(root, 16, fit=fit)
    assert tuple(data.images.shape[1:]) == (data.channels, 16, 16) and len(data) == 3
    assert data.report["fit"] == fit


def test_pad_of_opaque_images_does_not_add_an_alpha_channel(tmp_path: Path) -> None:
    """Padding is not transparency in the source: opaque RGB stays 3 channels, grey stays 1 (padding goes white)."""
    colour = _folder(tmp_path, "colour", {"wide.png": noise_rgb(48, 16), "square.png": noise_rgb(16, 16)})
    assert load_folder(colour, 8, fit="pad").channels == 3
    grey = _folder(tmp_path, "grey", {"wide.png": grey_image(30, 10)})
    assert load_folder(grey, 8, fit="pad").channels == 1


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif_rotated_jpeg(path, w=40, h=20)  # stored landscape; orientation 6 shows it as portrait (20 wide, 40 tall)
    arr, _, _ = decode_image(path, 16, "pad")
    alpha = arr[..., 3]
    # portrait content padded into a square: transparent bars left and right, full height in the middle
    assert (alpha[:, :3] == 0).all() and (alpha[:, -3:] == 0).all()
    assert (alpha[:, 6:10] == 255).all()


def test_animated_gif_uses_the_first_frame(tmp_path: Path) -> None:
    animated_gif(tmp_path / "anim.gif")  # red, blue, green frames
    arr, _, _ = decode_image(tmp_path / "anim.gif", 8, "crop")
    assert tuple(arr[4, 4, :3]) == (255, 0, 0)


def test_sixteen_bit_png_is_scaled_to_eight_bits(tmp_path: Path) -> None:
    sixteen_bit(64, 8).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as img:
        assert img.mode.startswith("I")
    arr, grey, _ = decode_image(tmp_path / "deep.png", 8, "stretch")
    assert grey
    row = arr[0, :, 0].astype(int)
    assert row[0] <= 40 and row[-1] >= 215  # the gradient spans the range
    assert (np.diff(row) > 0).all()


def test_dark_sixteen_bit_png_stays_dark(tmp_path: Path) -> None:
    """A 16-bit PNG whose values are all below 256 is nearly black (<= 0.4% brightness), not full range."""
    a = np.tile(np.linspace(0, 255, 16).astype(np.uint16), (16, 1))
    Image.fromarray(a).save(tmp_path / "dark16.png")
    arr, _, _ = decode_image(tmp_path / "dark16.png", 16, "crop")
    assert int(arr[..., 0].max()) <= 2


def test_cmyk_jpeg_decodes_to_rgb(tmp_path: Path) -> None:
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "red.jpg", quality=95)  # pure red in CMYK
    arr, grey, alpha = decode_image(tmp_path / "red.jpg", 8, "crop")
    r, g, b = (int(v) for v in arr[4, 4, :3])
    assert r > 200 and g < 60 and b < 60 and not grey and not alpha


def test_decompression_bomb_guard_skips_huge_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _folder(tmp_path, "bomb", {"small.png": noise_rgb(8, 8), "huge.png": noise_rgb(40, 40)})
    monkeypatch.setattr(images_mod, "MAX_PIXELS", 100)
    data = load_folder(root, 8)
    assert len(data) == 1 and data.report["skipped"] == 1
    (entry,) = data.report["skipped_files"]
    assert entry["file"] == "huge.png" and "too large" in entry["reason"]


def test_labels_from_subfolders(tmp_path: Path) -> None:
    root = tmp_path / "labelled"
    for cls, seeds in {"cats": (1, 2), "dogs": (3,)}.items():
        (root / cls).mkdir(parents=True)
        for s in seeds:
            noise_rgb(8, 8, seed=s).save(root / cls / f"{s}.png")
    noise_rgb(8, 8).save(root / "loose.png")
    data = load_folder(root, 8, labels="folders")
    assert data.classes == ["cats", "dogs"]
    assert sorted(data.labels.tolist()) == [0, 0, 1]
    assert data.report["classes"] == {"cats": 2, "dogs": 1}
    assert [s["file"] for s in data.report["skipped_files"]] == ["loose.png"]


def test_single_file_as_data(tmp_path: Path) -> None:
    """--data FILE: that image alone (its neighbours neither used nor reported), fitted like any other, no labels."""
    (tmp_path / "alone").mkdir()
    picture = noise_rgb(12, 12)
    picture.save(tmp_path / "one.png")
    picture.save(tmp_path / "alone" / "one.png")
    noise_rgb(12, 12, seed=5).save(tmp_path / "neighbour.png")
    (tmp_path / "broken.png").write_text("not a picture\n")
    data = load_folder(tmp_path / "one.png", 8)
    assert tuple(data.images.shape) == (1, 3, 8, 8) and data.images.dtype == torch.uint8
    expected = np.asarray(ImageOps.fit(picture, (8, 8), Image.Resampling.LANCZOS))  # centre crop, then resize
    assert np.array_equal(data.images[0].permute(1, 2, 0).numpy(), expected)
    assert data.labels is None and data.classes == [] and "classes" not in data.report
    report = data.report
    assert (report["files"], report["used"], report["skipped"], report["skipped_files"]) == (1, 1, 0, [])
    assert (report["channels"], report["size"], report["fit"]) == (3, 8, "crop")
    # the same picture as the only file of a folder: the same tensor and the same content hash
    alone = load_folder(tmp_path / "alone", 8)
    assert torch.equal(alone.images, data.images) and alone.report["content_hash"] == report["content_hash"]
    # a grey file gives one channel; a file that is not an image is an error that says why
    grey_image(30, 20).save(tmp_path / "grey.png")
    grey = load_folder(tmp_path / "grey.png", 8, fit="stretch")
    assert tuple(grey.images.shape) == (1, 1, 8, 8) and grey.report["fit"] == "stretch"
    assert bool((grey.images[0, 0, :, 1:] >= grey.images[0, 0, :, :-1]).all())  # the gradient still runs left to right
    with pytest.raises(DataError, match=r"1 files; 1 skipped, e\.g\. broken\.png: not an image PIL can read"):
        load_folder(tmp_path / "broken.png", 8)


def test_folders_without_usable_images_are_data_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no usable image"):
        load_folder(tmp_path / "empty", 8)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_text("nope")
    (tmp_path / "broken" / "b.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="2 skipped"):
        load_folder(tmp_path / "broken", 8)
    with pytest.raises(DataError, match="does not exist"):
        load_folder(tmp_path / "missing", 8)


# --- sizes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [8, 28, 100, 256])
def test_any_size_from_8_to_256_is_admitted(size: int) -> None:
    GANConfig(data="builtin:digits", arch="mlp", size=size).validate()  # the MLP takes any size


def test_data_comes_at_sizes_that_are_not_powers_of_two() -> None:
    assert tuple(load_builtin("digits", 28).images.shape) == (1797, 1, 28, 28)
    assert tuple(load_builtin("abstract", 24, count=3).images.shape) == (3, 3, 24, 24)


@pytest.mark.parametrize("size", [4, 7, 257, 512])
def test_sizes_outside_the_range_are_refused_naming_it(size: int) -> None:
    with pytest.raises(ConfigError) as err:
        GANConfig(data="builtin:digits", arch="mlp", size=size).validate()
    assert f"--size {size}" in err.value.message and "8 to 256" in err.value.message and "\n" not in err.value.message


def test_multiple_of_names_the_nearest_sizes_allowed() -> None:
    multiple_of(48, 8, "dcgan")  # nothing to say
    cases = {(30, 8): "use 24 or 32", (12, 8): "use 8 or 16", (7, 8): "use 8", (255, 8): "use 248 or 256",
             (100, 64): "use 64 or 128", (40, 32): "use 32 or 64"}
    for (size, m), hint in cases.items():
        with pytest.raises(ConfigError) as err:
            multiple_of(size, m, "diffusion")
        assert err.value.message == f"--size {size} does not suit the diffusion: it takes multiples of {m}"
        assert err.value.hint == hint
    assert nearest_sizes(20, 512) == []


def test_base_resolution_keeps_powers_of_two_at_4() -> None:
    assert [base_resolution(s) for s in (8, 16, 32, 64, 128, 256)] == [4] * 6
    assert [base_resolution(s) for s in (24, 40, 48, 56, 72)] == [6, 5, 6, 7, 9]
    assert all(base_resolution(s) >= 4 and s % base_resolution(s) == 0 for s in range(8, 257, 8))
