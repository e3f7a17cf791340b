"""The image VAE: training lowers the held-out negative ELBO, the losses, the split, encode/decode/reconstruct/morph
through the Python API and the real command line, and one-line errors for bad inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from conftest import build_once, run_cli
from PIL import Image
from sklearn.datasets import load_digits

import genart
from genart.codec import decode_files, encode_files, morph_file, output_names, read_latents, reconstruct_files
from genart.core.checkpoints import checkpoint_info, load_checkpoint, save_checkpoint
from genart.core.errors import ConfigError, DataError, GenartError
from genart.core.files import file_hash
from genart.data.image_data import load_images
from genart.data.images import ImageData
from genart.generate import GenerateOptions, run_generate
from genart.info import run_info
from genart.io.images import grid, read_png_text, stack_pairs, to_uint8, upscale
from genart.kinds.vae.config import VAEConfig
from genart.kinds.vae.model import VAETrainable, calibrated_log_scale, kl_per_unit, recon_kind, recon_nll, split_indices, widths

CPU = torch.device("cpu")
# the smallest sensible VAE: 8x8 digits, narrow networks, 8 latent units
TINY = dict(data="builtin:digits", size=8, width=8, latent=8, batch=32, device="cpu", precision="fp32", seed=0)
TINY_CLI = ["--size", "8", "--width", "8", "--latent", "8", "--batch", "32", "--device", "cpu", "--precision", "fp32",
            "--log-every", "50"]


def assert_one_line_error(rc: int, err: str, *fragments: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert all(line.startswith(("error:", "hint:")) for line in err.splitlines() if line.strip()), err
    for fragment in fragments:
        assert fragment in errors[0], (fragment, err)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VAE trained 300 steps on builtin:digits at 8x8 by the real `genart train vae`, evaluated on its held-out
    images every 150 steps (built once for all xdist workers)."""

    def build(path: Path) -> dict:
        rc, out, err = run_cli("train", "vae", "--data", "builtin:digits", "--out", path, "--steps", "300",
                               "--sample-every", "150", *TINY_CLI)
        return {"rc": rc, "stderr": err}

    path, result = build_once(tmp_path_factory, "vae-digits", build)
    assert result["rc"] == 0, result["stderr"]
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of digit PNGs (bigger than the run's size), a colour JPEG, and a note that is not an image."""
    root = tmp_path_factory.mktemp("images")
    d = load_digits()
    for i in (3, 0, 1, 2):
        Image.fromarray((d.images[i] / 16 * 255).astype(np.uint8)).resize((24, 24)).save(root / f"d{i}.png")
    Image.new("RGB", (30, 20), (200, 40, 40)).save(root / "colour.jpg")
    (root / "notes.txt").write_text("not an image\n")
    return root


# --- networks and losses ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_depth_follows_size_and_shapes_round_trip(size: int) -> None:
    cfg = VAEConfig(data="x", size=size, width=4, latent=5)
    trainable = VAETrainable(cfg, ImageData(images=torch.zeros(4, 3, size, size, dtype=torch.uint8)), CPU, "fp32",
                             torch.Generator())
    convs = [m for m in trainable.enc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == int(math.log2(size)) - 2 == len(widths(size, 4))
    mu, logvar = trainable.enc(torch.zeros(2, 3, size, size))
    assert mu.shape == logvar.shape == (2, 5)
    assert trainable.dec(mu).shape == (2, 3, size, size)


def test_size_24_trains_samples_and_round_trips(tmp_path: Path) -> None:
    """A multiple of 8 that is not a power of two: the networks go 24 -> 12 -> 6x6 and back; it trains, samples and
    reconstructs through the API. Sizes that are not multiples of 8 are refused, naming the nearest."""
    cfg = VAEConfig(**{**TINY, "size": 24}, steps=3, sample_every=0, log_every=1)
    convs = [m for m in VAETrainable(cfg, ImageData(images=torch.zeros(4, 1, 24, 24, dtype=torch.uint8)), CPU, "fp32",
                                     torch.Generator()).enc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16] and sorted(widths(24, 8)) == [6, 12]
    from conftest import quiet_console

    from genart.train import train

    train(cfg, tmp_path / "v24", console=quiet_console())
    model = genart.load(str(tmp_path / "v24"))
    assert tuple(model.generate_tensor(n=2, seed=0).shape) == (2, 1, 24, 24)
    x = to_uint8(model.generate_tensor(n=2, seed=1))  # (N, H, W, C) uint8
    assert tuple(model.sampler.reconstruct(torch.from_numpy(x).permute(0, 3, 1, 2)).shape) == (2, 1, 24, 24)
    with pytest.raises(ConfigError, match="--size 30 does not suit the vae") as err:
        VAEConfig(**{**TINY, "size": 30}).validate()
    assert err.value.hint == "use 24 or 32"


def test_likelihoods_and_kl() -> None:
    x = torch.rand(2, 3, 4, 4) * 2 - 1
    # bernoulli with logits 0: log 2 nats per dimension whatever the image
    assert torch.allclose(recon_nll("bernoulli", torch.zeros_like(x), x), torch.full((2,), 48 * math.log(2)))
    # the calibrated scale is the likelihood's optimum: nudging it either way only makes the NLL worse
    mean = x + 0.1 * torch.randn_like(x)
    for kind in ("gaussian", "l1"):
        best = calibrated_log_scale(kind, mean, x)
        nll = recon_nll(kind, mean, x, best).sum()
        assert nll < recon_nll(kind, mean, x, best + 0.05).sum() and nll < recon_nll(kind, mean, x, best - 0.05).sum()
        # a perfect reconstruction hits the scale floor, and the 8-bit probability stays at most 1 (nll >= 0)
        assert (recon_nll(kind, x, x, calibrated_log_scale(kind, x, x)) >= 0).all()
    assert float(kl_per_unit(torch.zeros(3, 4), torch.zeros(3, 4)).abs().max()) == 0.0
    assert float(kl_per_unit(torch.ones(1, 1), torch.zeros(1, 1))) == pytest.approx(0.5)
    assert recon_kind("auto", 1) == "bernoulli" and recon_kind("auto", 3) == "gaussian" and recon_kind("l1", 1) == "l1"


def test_held_out_split_is_seeded_and_never_trained_on() -> None:
    train_a, val_a = split_indices(1797, 0.05, seed=0)
    train_b, val_b = split_indices(1797, 0.05, seed=0)
    assert torch.equal(val_a, val_b) and torch.equal(train_a, train_b)
    assert len(val_a) == 90 and len(train_a) == 1707
    assert set(val_a.tolist()).isdisjoint(train_a.tolist()) and len(set(val_a.tolist()) | set(train_a.tolist())) == 1797
    assert not torch.equal(split_indices(1797, 0.05, seed=1)[1], val_a)
    assert len(split_indices(10, 0.0, 0)[1]) == 0 and len(split_indices(2, 0.5, 0)[1]) == 1
    cfg = VAEConfig(**TINY)
    data = load_images(cfg)
    model = VAETrainable(cfg, data, CPU, "fp32", torch.Generator().manual_seed(1))
    assert torch.equal(model.val_images, data.images[val_a]) and torch.equal(model.images, data.images[train_a])


def test_warmup_and_free_bits() -> None:
    data = ImageData(images=torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator()))
    cfg = VAEConfig(data="x", size=8, width=4, latent=4, batch=8, beta=2.0, kl_warmup=10, free_bits=0.5)
    torch.manual_seed(0)
    model = VAETrainable(cfg, data, CPU, "fp32", torch.Generator().manual_seed(1))
    assert [model.kl_weight(s) for s in (0, 4, 9, 50)] == [0.2, 1.0, 2.0, 2.0]
    logged = model.train_step(0)
    assert float(logged["kl_weight"]) == pytest.approx(0.2)
    # free bits: the KL term never counts less than 0.5 nats per unit, so the loss is at least recon + 0.2 * 4 * 0.5
    assert float(logged["loss"]) >= float(logged["recon"]) + 0.2 * 4 * 0.5 - 1e-4


def test_colour_likelihoods_learn_on_abstract_images() -> None:
    data = load_images(VAEConfig(**{**TINY, "data": "builtin:abstract"}))
    assert data.channels == 3
    for recon in ("gaussian", "l1"):
        cfg = VAEConfig(**{**TINY, "data": "builtin:abstract"}, recon=recon)
        torch.manual_seed(0)
        model = VAETrainable(cfg, data, CPU, "fp32", torch.Generator().manual_seed(1))
        before = model.evaluate()
        for step in range(100):
            model.train_step(step)
        after = model.evaluate()
        assert after["val_loss"] < before["val_loss"] - 50, recon
        assert 0 < after["val_bpd"] < 8, recon  # better than a uniform guess over 8-bit values
        assert (model.dec.log_scale < 0).all(), recon  # the calibrated scale shrank from its start at 1


# --- training -------------------------------------------------------------------------------------------


def test_training_lowers_the_held_out_negative_elbo(trained: Path) -> None:
    cfg = VAEConfig(**TINY)
    torch.manual_seed(cfg.seed)  # as the trainer seeds: the same untrained weights
    untrained = VAETrainable(cfg, load_images(cfg), CPU, "fp32", torch.Generator().manual_seed(1)).evaluate()
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval_val_loss" in r]
    assert [r["step"] for r in evals] == [150, 300]
    losses = [r["eval_val_loss"] for r in evals]
    assert losses[-1] < losses[0] < untrained["val_loss"] - 5
    for r in evals:  # bits per dimension: nats over 64 pixels, in bits
        assert r["eval_val_bpd"] == pytest.approx(r["eval_val_loss"] / (64 * math.log(2)), rel=1e-5)
    # the best checkpoint is kept, and `genart info` shows it
    facts = run_info(trained)
    assert facts["best_val_loss"] == pytest.approx(min(losses), abs=1e-5)  # metrics.jsonl rounds to 6 places
    assert facts["best_step"] == evals[losses.index(min(losses))]["step"]
    assert checkpoint_info(trained / "checkpoints" / "best.safetensors")["step"] == facts["best_step"]
    assert sorted(p.name for p in (trained / "samples").iterdir()) == ["step-0000150.png", "step-0000300.png"]
    config = json.loads((trained / "config.json").read_text())
    assert config["kind"] == "vae" and config["config"]["latent"] == 8 and config["resolved"]["channels"] == 1


def test_each_step_logs_loss_reconstruction_kl_and_active_units(trained: Path) -> None:
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "steps_per_s" in r]
    assert [r["step"] for r in steps] == [50, 100, 150, 200, 250, 300]
    for r in steps:
        assert r["loss"] == pytest.approx(r["recon"] + r["kl"], abs=1e-4)  # beta 1, no warm-up or free bits
        assert r["kl"] >= 0 and 0 <= r["active"] <= 8
    assert steps[-1]["recon"] < steps[0]["recon"]
    assert steps[-1]["active"] >= 1  # the code is used


def test_checkpoint_state_resumes_exactly(tmp_path: Path) -> None:
    """state() through a safetensors checkpoint and load_state() give the same next step (weights, Adam, scale EMA)."""
    cfg = VAEConfig(**{**TINY, "data": "x"}, recon="gaussian")
    data = ImageData(images=torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator()))

    def model() -> VAETrainable:
        torch.manual_seed(0)
        return VAETrainable(cfg, data, CPU, "fp32", torch.Generator().manual_seed(1))

    a = model()
    for step in range(5):
        a.train_step(step)
    save_checkpoint(tmp_path / "c.safetensors", {"model": a.state()}, {"step": 5})
    b = model()  # fresh weights, then the checkpoint
    b.load_state(load_checkpoint(tmp_path / "c.safetensors")[0]["model"])
    b.generator.set_state(a.generator.get_state())
    rng = torch.get_rng_state()
    out_a = a.train_step(5)
    torch.set_rng_state(rng)
    out_b = b.train_step(5)
    assert all(torch.equal(out_a[k], out_b[k]) for k in out_a)
    assert all(torch.equal(x, y) for x, y in zip(a.dec.state_dict().values(), b.dec.state_dict().values(), strict=True))


# --- encode, decode, reconstruct, morph: the Python API -----------------------------------------------


def test_encode_decode_shapes_and_determinism(trained: Path, images: Path) -> None:
    model = genart.load(str(trained))
    assert model.kind == "vae" and model.classes == []
    z = model.encode(images)  # a folder: its images in sorted name order, the note ignored
    assert z.shape == (5, 8) and z.dtype == torch.float32
    assert torch.equal(z, model.encode(images))
    x = model.decode(z)
    assert x.shape == (5, 1, 8, 8) and float(x.min()) >= -1 and float(x.max()) <= 1
    assert torch.equal(x, model.decode(z.numpy()))
    files = [images / "d0.png", images / "d1.png"]
    assert torch.equal(model.reconstruct(files), model.decode(model.encode(files)))
    assert torch.allclose(model.encode(files), z[[1, 2]], atol=1e-5)  # colour.jpg sorts first
    # the same picture as a file, a PIL image and a pixel tensor gives the same code
    pixels, _ = model.prepare([images / "d0.png"])
    with Image.open(images / "d0.png") as pil:
        assert torch.allclose(model.encode([pil]), z[1:2], atol=1e-5)
    assert torch.allclose(model.encode(pixels), z[1:2], atol=1e-5)
    # sampling from q(z|x) is seeded and differs from the mean
    assert torch.equal(model.encode(files, sample=True, seed=3), model.encode(files, sample=True, seed=3))
    assert not torch.equal(model.encode(files, sample=True, seed=3), model.encode(files))


def test_morph_ends_are_the_reconstructions_of_its_two_images(trained: Path, images: Path) -> None:
    model = genart.load(str(trained))
    a, b = images / "d0.png", images / "d3.png"
    recon = model.reconstruct([a, b])
    frames = model.morph(a, b, frames=7)
    assert frames.shape == (7, 1, 8, 8)
    assert torch.allclose(frames[0], recon[0], atol=1e-5) and torch.allclose(frames[-1], recon[1], atol=1e-5)
    assert not torch.allclose(frames[3], recon[0], atol=1e-3)  # it moves
    looped = model.morph(a, b, frames=8, loop=True)
    assert torch.allclose(looped[0], recon[0], atol=1e-5)


def test_generate_samples_the_prior_with_temperature(trained: Path, tmp_path: Path) -> None:
    model = genart.load(str(trained))
    # seed k gives the same image whatever is generated alongside it (up to float rounding)
    assert torch.allclose(model.generate_tensor(seeds=[5]), model.generate_tensor(seeds=[4, 5])[1:], atol=1e-5)
    cold = model.generate_tensor(seeds=[0, 1, 2], temperature=0.0)  # z = 0 for every seed
    assert torch.allclose(cold[0], cold[1], atol=1e-6) and torch.allclose(cold[0], cold[2], atol=1e-6)
    assert torch.allclose(cold[:1], model.decode(torch.zeros(1, 8)), atol=1e-5)
    message = run_generate(model, GenerateOptions(out=tmp_path / "g.png", n=4, temperature="0.5"))
    assert "4 images" in message and read_png_text(tmp_path / "g.png")["genart:temperature"] == "0.5"
    with pytest.raises(ConfigError, match="not trained with classes"):
        model.generate_tensor(2, cls_="3")
    assert model.walk_tensor(frames=4, keys=2).shape == (4, 1, 8, 8)


def test_bad_inputs_are_one_line_errors(trained: Path, images: Path, tmp_path: Path) -> None:
    model = genart.load(str(trained))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match="missing.png: no such file") as missing:
        model.encode([images / "d0.png", tmp_path / "missing.png"])
    with pytest.raises(DataError, match="broken.png is not a usable image") as bad:
        model.reconstruct([broken])
    for e in (missing.value, bad.value):  # one line, and a hint
        assert "\n" not in e.message and e.hint
    with pytest.raises(DataError, match="broken.png"):
        morph_file(model, images / "d0.png", broken, tmp_path / "m.gif")
    with pytest.raises(ConfigError, match="do not match"):
        model.encode(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ConfigError, match="latent size 8"):
        model.decode(torch.zeros(2, 5))
    for error in (DataError, ConfigError):
        assert issubclass(error, GenartError)


def test_latent_files_are_checked(tmp_path: Path) -> None:
    np.save(tmp_path / "ok.npy", np.zeros((3, 8), np.float32))
    z, side = read_latents(tmp_path / "ok.npy", 8)
    assert z.shape == (3, 8) and side == {}
    np.save(tmp_path / "wrong.npy", np.zeros((3, 5), np.float32))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "text.npy").write_text("hello")
    np.save(tmp_path / "nan.npy", np.full((1, 8), np.nan, np.float32))
    for name, error, fragment in [("wrong.npy", ConfigError, "shape"), ("objects.npy", DataError, "objects.npy"),
                                  ("text.npy", DataError, "not a .npy file"), ("nan.npy", DataError, "NaN"),
                                  ("absent.npy", DataError, "no such file")]:
        with pytest.raises(error, match=fragment):
            read_latents(tmp_path / name, 8)


def test_output_names_stay_inside_the_folder() -> None:
    assert output_names(["b.png", "sub/c.jpg"], 2) == ["b.png", "sub/c.png"]
    assert output_names(["a.jpg", "a.png"], 2) == ["a.jpg.png", "a.png.png"]
    assert output_names(["../../etc/x.png", "/abs/y.png"], 2) == ["x.png", "y.png"]
    assert output_names(None, 3) == ["000000.png", "000001.png", "000002.png"]
    assert output_names(["only one"], 2) == ["000000.png", "000001.png"]


def test_codec_commands_need_a_vae(cli_digits_run: tuple[Path, dict], images: Path, tmp_path: Path) -> None:
    gan = genart.load(str(cli_digits_run[0]))
    with pytest.raises(GenartError, match="needs a run that encodes images"):
        encode_files(gan, [images], tmp_path / "z.npy")


def test_the_four_codec_commands_agree_with_each_other(trained: Path, images: Path, tmp_path: Path) -> None:
    """reconstruct, encode, decode and interpolate --from/--to as the CLI calls them (genart.codec), files in and out:
    encode then decode gives reconstruct's pictures, a morph starts and ends on them, unnamed codes get numbered files."""
    model = genart.load(str(trained))
    files = [images / f"d{i}.png" for i in range(4)]
    x, _ = model.prepare(files)
    inputs = to_uint8(x)[..., 0]

    # reconstruct: a sheet with the inputs fitted to 8x8 on the top row and their reconstructions below
    assert "4 images above" in reconstruct_files(model, files, tmp_path / "recon.png")
    assert json.loads(read_png_text(tmp_path / "recon.png")["genart:images"]) == [f.name for f in files]
    with Image.open(tmp_path / "recon.png") as img:
        sheet = np.asarray(img)
    cell = 8 + 2  # 8x8 tiles, a 2-pixel gutter, enlarged k times
    k = sheet.shape[1] // (4 * cell + 2)
    sheet = sheet[::k, ::k]
    assert sheet.shape == (2 * cell + 2, 4 * cell + 2)

    def tile(row: int, col: int) -> np.ndarray:
        return sheet[2 + row * cell:row * cell + cell, 2 + col * cell:col * cell + cell]

    recon = [tile(1, c) for c in range(4)]
    assert all(np.array_equal(tile(0, c), inputs[c]) for c in range(4))
    assert not any(np.array_equal(recon[c], inputs[c]) for c in range(4))  # a reconstruction, not a copy

    # encode: one float32 code per image, the names and the checkpoint in the sidecar
    assert "encoded 4 images" in encode_files(model, files, tmp_path / "z.npy")
    z = np.load(tmp_path / "z.npy")
    assert z.shape == (4, 8) and z.dtype == np.float32 and np.allclose(z, model.encode(files).numpy(), atol=1e-5)
    side = json.loads((tmp_path / "z.npy.json").read_text())
    assert side["names"] == [f.name for f in files] and side["checkpoint_sha256"] == model.checkpoint_hash

    # decode: one PNG per code, named after the encoded files, showing exactly what reconstruct showed
    assert "4 PNG files" in decode_files(model, tmp_path / "z.npy", tmp_path / "decoded")
    assert sorted(p.name for p in (tmp_path / "decoded").iterdir()) == [f.name for f in files]
    for c, f in enumerate(files):
        with Image.open(tmp_path / "decoded" / f.name) as img:
            assert np.array_equal(np.asarray(img), recon[c]), f.name
    # codes without their sidecar: the same pictures, numbered in order
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "z.npy").write_bytes((tmp_path / "z.npy").read_bytes())
    decode_files(model, tmp_path / "bare" / "z.npy", tmp_path / "numbered")
    names = sorted(p.name for p in (tmp_path / "numbered").iterdir())
    assert names == ["000000.png", "000001.png", "000002.png", "000003.png"]
    for c, name in enumerate(names):
        with Image.open(tmp_path / "numbered" / name) as img:
            assert np.array_equal(np.asarray(img), recon[c]), name
        assert read_png_text(tmp_path / "numbered" / name)["genart:index"] == str(c)

    # interpolate --from/--to: the first frame is d0's reconstruction, the last d3's, the middle neither
    assert "5 frames" in morph_file(model, files[0], files[3], tmp_path / "morph.gif", frames=5, fps=10)
    frames = iio.imread(tmp_path / "morph.gif", index=None)
    assert frames.shape[0] == 5
    k = frames.shape[1] // 8
    small = frames[:, ::k, ::k, 0].astype(int)  # each code encoded alone here: allow float rounding of one level
    assert np.abs(small[0] - recon[0]).max() <= 1 and np.abs(small[-1] - recon[3]).max() <= 1
    assert np.abs(small[2] - recon[0]).max() > 8 and np.abs(small[2] - recon[3]).max() > 8
    side = json.loads((tmp_path / "morph.gif.json").read_text())
    assert (side["from"], side["to"], side["frames"], side["fps"], side["loop"]) == ("d0.png", "d3.png", 5, 10, False)


# --- the command line ----------------------------------------------------------------------------------


def test_cli_encode_then_decode(trained: Path, images: Path, tmp_path: Path) -> None:
    z_path = tmp_path / "z.npy"
    rc, out, err = run_cli("encode", trained, "--images", images, "--out", z_path)
    assert rc == 0, err
    assert "encoded 5 images" in out and "bytes" in out and "smaller" in out
    z = np.load(z_path)
    side = json.loads((tmp_path / "z.npy.json").read_text())
    assert z.shape == (5, 8) and z.dtype == np.float32
    assert side["names"] == ["colour.jpg", "d0.png", "d1.png", "d2.png", "d3.png"]
    assert side["checkpoint_sha256"] == file_hash(trained / "checkpoints" / "last.safetensors")
    model = genart.load(str(trained))
    assert np.allclose(z, model.encode(images).numpy(), atol=1e-5)

    rc, out, err = run_cli("decode", trained, "--latents", z_path, "--out", tmp_path / "decoded")
    assert rc == 0, err
    assert "decoded 5 codes" in out and "5 PNG files" in out
    assert sorted(p.name for p in (tmp_path / "decoded").iterdir()) == ["colour.png", "d0.png", "d1.png", "d2.png", "d3.png"]
    expected = to_uint8(model.decode(z))
    with Image.open(tmp_path / "decoded" / "d1.png") as img:
        assert np.array_equal(np.asarray(img), expected[2][..., 0])
    text = read_png_text(tmp_path / "decoded" / "d1.png")
    assert text["AI-generated"] == "true" and text["genart:latents"] == "z.npy" and text["genart:index"] == "2"


def test_cli_reconstruct_puts_inputs_above_reconstructions(trained: Path, images: Path, tmp_path: Path) -> None:
    out = tmp_path / "recon.png"
    files = [images / "d0.png", images / "d1.png", images / "d2.png"]
    rc, stdout, err = run_cli("reconstruct", trained, "--images", *files, "--out", out)
    assert rc == 0, err
    model = genart.load(str(trained))
    x, _ = model.prepare(files)
    expected = upscale(grid(stack_pairs(x, model.reconstruct(files), 3), nrow=3))
    with Image.open(out) as img:
        assert img.tobytes() == expected.tobytes()
    assert json.loads(read_png_text(out)["genart:images"]) == ["d0.png", "d1.png", "d2.png"]


def test_cli_morph_from_one_image_to_another(trained: Path, images: Path, tmp_path: Path) -> None:
    out = tmp_path / "morph.gif"
    rc, stdout, err = run_cli("interpolate", trained, "--from", images / "d0.png", "--to", images / "d3.png",
                              "--out", out, "--frames", "6")
    assert rc == 0, err
    frames = iio.imread(out, index=None)
    assert frames.shape[0] == 6
    recon = to_uint8(genart.load(str(trained)).reconstruct([images / "d0.png", images / "d3.png"]))
    k = frames.shape[1] // 8
    assert np.array_equal(frames[0][::k, ::k, 0], recon[0][..., 0])
    assert np.array_equal(frames[-1][::k, ::k, 0], recon[1][..., 0])
    side = json.loads((tmp_path / "morph.gif.json").read_text())
    assert side["from"] == "d0.png" and side["to"] == "d3.png" and side["loop"] is False


def test_cli_broken_image_is_a_one_line_error(trained: Path, tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_text("this is not a picture\n")
    rc, _, err = run_cli("encode", trained, "--images", tmp_path / "broken.png", "--out", tmp_path / "z.npy")
    assert_one_line_error(rc, err, "broken.png", "not a usable image")
    assert not (tmp_path / "z.npy").exists()
