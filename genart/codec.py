"""Images to latent codes and back, for runs that encode images (the VAE): `genart reconstruct`, `encode`,
`decode` and `interpolate --from/--to`. Files in, files out, provenance in each; the CLI only parses and prints."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch

from genart.api import Model
from genart.core.errors import ConfigError, DataError
from genart.core.files import atomic_path, size_text, write_json
from genart.core.registry import ENCODE
from genart.data.user_images import image_files
from genart.io.images import stack_pairs

MAX_FRAMES = 2000


def require_encoder(model: Model) -> None:
    model.require(ENCODE, "this command needs a run that encodes images")


def _files(paths: list[Path]) -> list[tuple[Path, str]]:
    if not paths:
        raise ConfigError("no images given", "pass --images FILE ... or --images DIR")
    return image_files(paths)


def reconstruct_files(model: Model, images: list[Path], out: Path, nrow: int = 8) -> str:
    """One PNG: the input images (fitted to the run's size) in a row, their reconstructions in the row below."""
    from genart.io.images import save_grid

    require_encoder(model)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out} should be a .png file", "name it e.g. recon.png")
    files = _files(images)
    x, _ = model.sampler.prepare([f for f, _ in files])
    recon = model.sampler.reconstruct(x)
    nrow = max(1, min(nrow, len(files)))
    save_grid(stack_pairs(x, recon, nrow), out, model.provenance(images=[name for _, name in files]), nrow=nrow)
    return f"wrote {out} ({len(files)} images above, their reconstructions below)"


def encode_files(model: Model, images: list[Path], out: Path) -> str:
    """Latent codes (N, z_dim) float32 as .npy, files in sorted name order; names and provenance in OUT.json."""
    require_encoder(model)
    if out.suffix.lower() != ".npy":
        raise ConfigError(f"--out {out} should be a .npy file", "name it e.g. z.npy")
    files = _files(images)
    z = model.sampler.encode([f for f, _ in files]).numpy().astype(np.float32)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.save(f, z, allow_pickle=False)
    write_json(Path(str(out) + ".json"), {"file": out.name, **model.provenance(shape=list(z.shape), dtype="float32"),
                                          "names": [name for _, name in files]})
    size_in = sum(f.stat().st_size for f, _ in files)
    size_out = out.stat().st_size
    return (f"encoded {len(files)} images ({size_text(size_in)}) into {out} ({size_text(size_out)}: "
            f"{z.shape[0]} x {z.shape[1]} float32, {size_in / max(1, size_out):.1f}x smaller); names in {out.name}.json")


def read_latents(path: Path, z_dim: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The codes in a .npy file, checked against the run's latent size, and its sidecar (or {})."""
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic != b"\x93NUMPY":
            raise DataError(f"{path} is not a .npy file", "give the .npy written by genart encode")
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file", "give the .npy written by genart encode") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not a .npy file", "give the .npy written by genart encode") from None
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path} is not a .npy array of latent codes ({str(e).splitlines()[0][:100]})",
                        "give the .npy written by genart encode") from None
    if not isinstance(z, np.ndarray) or z.dtype.kind not in "fiu":
        raise DataError(f"{path} does not hold numbers", "give the .npy written by genart encode")
    if z.ndim == 1:
        z = z[None]
    if z.ndim != 2 or z.shape[1] != z_dim or z.shape[0] == 0:
        raise ConfigError(f"{path} holds codes of shape {z.shape}; this run decodes (N, {z_dim})",
                          "decode codes made by genart encode with a run of the same --latent")
    if not np.isfinite(z).all():
        raise DataError(f"{path} holds NaN or infinite values", "re-encode the images")
    side: dict[str, Any] = {}
    side_path = Path(str(path) + ".json")
    if side_path.exists():
        try:
            side = json.loads(side_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            side = {}
    return z.astype(np.float32), side if isinstance(side, dict) else {}


def output_names(names: Any, n: int) -> list[str]:
    """File names for n decoded images: after the encoded files when their names are known (folders kept, nothing
    that leaves the output folder), else numbered in order."""
    if not (isinstance(names, list) and len(names) == n and all(isinstance(s, str) and s for s in names)):
        return [f"{i:06d}.png" for i in range(n)]
    out = []
    for name in names:
        p = PurePosixPath(name.replace("\\", "/"))
        parts = [x for x in p.parts if x not in ("/", ".", "..")]
        if p.is_absolute() or ".." in p.parts:
            parts = parts[-1:]
        out.append("/".join(parts) if parts else "")
    stems = [str(PurePosixPath(s).with_suffix(".png")) if s else "" for s in out]
    result = []
    for i, (s, full) in enumerate(zip(stems, out, strict=True)):
        if not s:
            s = f"{i:06d}.png"
        elif stems.count(s) > 1:  # a.jpg and a.png: keep the whole name
            s = f"{full}.png"
        if s in result:
            s = f"{s[:-4]}-{i}.png"
        result.append(s)
    return result


def decode_files(model: Model, latents: Path, out: Path) -> str:
    """One PNG per code in OUT (a folder), named after the encoded files when the sidecar knows them."""
    from genart.io.images import save_png, to_pil

    require_encoder(model)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file", "give a folder for the decoded images")
    z, side = read_latents(latents, model.sampler.z_dim)
    images = model.sampler.decode(torch.from_numpy(z))
    names = output_names(side.get("names"), z.shape[0])
    total = 0
    prov = model.provenance(latents=latents.name)
    for i, (img, name) in enumerate(zip(to_pil(images), names, strict=True)):
        path = out / name
        save_png(img, path, {**prov, "index": i})
        total += path.stat().st_size
    note = ""
    if side.get("run") and side.get("checkpoint_sha256") != model.checkpoint_hash:
        note = f" (note: the codes were encoded by run {side['run']}, checkpoint {side.get('checkpoint_sha256')})"
    return (f"decoded {z.shape[0]} codes from {latents} ({size_text(latents.stat().st_size)}) into {out}/: "
            f"{z.shape[0]} PNG files, {size_text(total)}{note}")


def morph_file(model: Model, a: Path, b: Path, out: Path, frames: int = 60, fps: int = 20, loop: bool = False) -> str:
    """An animation from image a to image b (and back with loop): encode both, interpolate spherically, decode."""
    from genart.io.images import save_animation

    require_encoder(model)
    if not 2 <= frames <= MAX_FRAMES:
        raise ConfigError(f"--frames {frames} is out of range", f"use 2 to {MAX_FRAMES} frames")
    (fa, _), (fb, _) = _one(a), _one(b)
    video = model.sampler.morph(fa, fb, frames, loop)
    save_animation(video, out, fps=fps, provenance=model.provenance(**{"from": fa.name, "to": fb.name}, frames=frames,
                                                                        fps=fps, loop=loop))
    return f"wrote {out} ({frames} frames at {fps} fps, {fa.name} -> {fb.name}) and {out.name}.json"


def _one(path: Path) -> tuple[Path, str]:
    files = _files([path])
    if len(files) != 1 or Path(path).is_dir():
        raise ConfigError(f"{path} is a folder; --from and --to take one image each", "give an image file")
    return files[0]
