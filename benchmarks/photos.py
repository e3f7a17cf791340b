"""Real photographs for judging the image kinds at artists' sizes, and the checkerboard figure.

The photos are scikit-learn's two sample images (china.jpg and flower.jpg, 427 x 640, shipped inside scikit-learn:
no download). `make_photo_folder` writes random square crops of random scale, resized to `size`: the train part
from the left 70% of each photo, the held-out part from the right 30%, so no held-out pixel was ever trained on.

`checkerboard_ratio` is the share of the images' (non-constant) spectral power at the 2-pixel grid frequencies
(the Nyquist frequencies (H/2, W/2), (H/2, 0) and (0, W/2), where the checkerboard of strided transposed
convolutions shows; Odena et al. 2016), divided by the same share in reference images: about 1 for images with a
photo's own fine detail, well above 1 for a checkerboard.

    python benchmarks/photos.py runs/photos --n 600                      # 600 training crops at 64 px
    python benchmarks/photos.py runs/photos-held-out --n 300 --part held-out
    python benchmarks/photos.py runs/photos-held-out --checkerboard runs/gan-photos   # a run's samples against them
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

TRAIN_SHARE = 0.7  # the train part crops from the left 70% of each photo, the held-out part from the right 30%
CROP = (96, 256)  # side of the square crops in photo pixels (at most the region's width and height)
PARTS = ("train", "held-out")


def photos() -> list[np.ndarray]:
    """scikit-learn's sample photographs as (H, W, 3) uint8 arrays."""
    from sklearn.datasets import load_sample_images

    return list(load_sample_images().images)


def make_photo_folder(out: Path, n: int = 600, size: int = 64, seed: int = 0, part: str = "train") -> Path:
    """Write n PNG crops (size x size, RGB) of the photos' `part` ("train" or "held-out") into out; returns out."""
    if part not in PARTS:
        raise ValueError(f"part {part!r} is not one of {', '.join(PARTS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, PARTS.index(part)])
    pics = photos()
    for i in range(n):
        pic = pics[i % len(pics)]
        h, w = pic.shape[:2]
        cut = int(w * TRAIN_SHARE)
        x0, x1 = (0, cut) if part == "train" else (cut, w)
        side = int(rng.integers(CROP[0], min(CROP[1], x1 - x0, h) + 1))
        x = int(rng.integers(x0, x1 - side + 1))
        y = int(rng.integers(0, h - side + 1))
        crop = Image.fromarray(pic[y:y + side, x:x + side]).resize((size, size), Image.Resampling.LANCZOS)
        crop.save(out / f"{part}-{i:05d}.png")
    return out


def read_folder(folder: Path) -> torch.Tensor:
    """The PNGs of a folder as uint8 (N, C, H, W)."""
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(Path(folder).glob("*.png"))]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def grid_power_share(images: torch.Tensor) -> float:
    """The mean share of each image channel's non-DC spectral power at the 2-pixel grid frequencies. images:
    (N, C, H, W), uint8 or floats in [-1, 1], H and W even."""
    x = images.float() / 127.5 - 1.0 if images.dtype == torch.uint8 else images.float()
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f"images of {h}x{w}: the grid frequency needs an even height and width")
    power = torch.fft.fft2(x.double()).abs().square()
    total = power.flatten(2).sum(2) - power[..., 0, 0]  # all but the mean (DC)
    grid = power[..., h // 2, w // 2] + power[..., h // 2, 0] + power[..., 0, w // 2]
    return float((grid / total.clamp_min(1e-12)).mean())


def checkerboard_ratio(images: torch.Tensor, reference: torch.Tensor) -> float:
    """The grid-frequency power share of `images` over that of `reference` (e.g. held-out photos at the same size)."""
    return grid_power_share(images) / grid_power_share(reference)


def run_checkerboard(run: Path, reference: Path, n: int = 500) -> float:
    """checkerboard_ratio of n of a run's samples (seeds 0..n-1) against a folder of reference PNGs."""
    import genart

    fake = genart.load(str(run)).generate_tensor(n=n, seed=0)
    return checkerboard_ratio(fake, read_folder(reference))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="the folder to write (or, with --checkerboard, the reference PNGs)")
    ap.add_argument("--n", type=int, default=600, help="crops to write, or samples to generate")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--part", choices=PARTS, default="train")
    ap.add_argument("--checkerboard", type=Path, help="a run: print its samples' checkerboard ratio against OUT")
    args = ap.parse_args(argv)
    if args.checkerboard:
        print(f"checkerboard ratio of {args.checkerboard} against {args.out}: "
              f"{run_checkerboard(args.checkerboard, args.out, args.n):.3f}")
        return
    make_photo_folder(args.out, args.n, args.size, args.seed, args.part)
    print(f"wrote {args.n} {args.part} crops of {args.size}x{args.size} to {args.out}")


if __name__ == "__main__":
    main()
