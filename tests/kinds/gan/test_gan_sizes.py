"""The GAN at artists' sizes: any size its networks take, resize-then-convolve upsampling, the R3GAN loss, and
resumed optimizer moments in the parameters' layout."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import torch
from conftest import run_cli, train_tiny
from test_gan import _cfg
from torch import nn

import genart
from genart.core.errors import ConfigError
from genart.kinds.gan.config import GANConfig
from genart.kinds.gan.losses import d_loss, g_loss, gradient_penalties
from genart.kinds.gan.model import (
    build_discriminator,
    build_generator,
)

# --- sizes as the data has them -------------------------------------------------------------------------


def test_mlp_at_mnist_size_trains_and_generates(tmp_path: Path) -> None:
    """The original MLP design at MNIST's 28x28 (any size from 8 to 256 suits it): trained, then sampled."""
    run = train_tiny(tmp_path / "mlp28", arch="mlp", size=28, steps=4)
    model = genart.load(str(run))
    assert tuple(model.generate_tensor(n=3, seed=0).shape) == (3, 1, 28, 28)
    assert [im.size for im in model.generate(2, seed=0)] == [(28, 28), (28, 28)]
    from genart.metrics.features import feature_size

    assert feature_size(28) == 32 and feature_size(40) == 64  # evaluation's features take 16, 32 or 64
    assert [feature_size(s) for s in (8, 16, 32, 64, 128)] == [16, 16, 32, 64, 64]  # as before for powers of two


@pytest.mark.parametrize("size,base", [(24, 6), (40, 5)])
def test_dcgan_at_multiples_of_eight(tmp_path: Path, size: int, base: int) -> None:
    """Multiples of 8 that are not powers of two: G starts from (and D ends at) size / 2**d, here 6x6 or 5x5."""
    cfg = _cfg("dcgan", size)
    G, D = build_generator(cfg, 1, 10), build_discriminator(cfg, 1, 10)
    assert G.s0 == base and D.head.in_features == base * base * D.embed.embedding_dim
    run = train_tiny(tmp_path / f"dc{size}", size=size, steps=3)
    x = genart.load(str(run)).generate_tensor(n=2, seed=0)
    assert tuple(x.shape) == (2, 1, size, size) and bool(torch.isfinite(x).all())


def test_dcgan_refuses_sizes_it_cannot_take_naming_the_nearest(tmp_path: Path) -> None:
    rc, _, err = run_cli("train", "gan", "--data", "builtin:digits", "--out", tmp_path / "r", "--size", "30",
                         "--steps", "1")
    assert rc == 2 and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--size 30" in errors[0] and "dcgan" in errors[0] and "multiples of 8" in errors[0], err
    assert "24 or 32" in err
    assert not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match="--size 30"):
        _cfg("dcgan", 30)
    assert _cfg("mlp", 30).size == 30  # the MLP takes any size


# --- upsampling and the r3gan loss -----------------------------------------------------------------------


def test_upsample_resize_has_no_transposed_convolutions() -> None:
    def kinds(cfg: GANConfig) -> set[type]:
        return {type(m) for m in build_generator(cfg, 3, 0).modules()}

    resize, transposed = kinds(_cfg("dcgan", 32, upsample="resize")), kinds(_cfg("dcgan", 32, upsample="transposed"))
    assert nn.ConvTranspose2d not in resize and nn.Upsample in resize
    assert nn.ConvTranspose2d in transposed and nn.Upsample not in transposed


def test_old_run_configs_without_upsample_load_as_transposed(tmp_path: Path) -> None:
    from genart.core.rundir import RunDir

    run = train_tiny(tmp_path / "old", upsample="transposed", steps=2)
    before = genart.load(str(run)).generate_tensor(n=2, seed=3)
    raw = json.loads((run / "config.json").read_text())
    del raw["config"]["upsample"]  # as genart wrote it before the option existed
    (run / "config.json").write_text(json.dumps(raw))
    assert RunDir.open(run).config.upsample == "transposed"
    assert torch.equal(genart.load(str(run)).generate_tensor(n=2, seed=3), before)
    assert GANConfig.from_dict({"data": "x", "upsample": "resize"}).upsample == "resize"


def test_r3gan_losses_and_penalties() -> None:
    zero, one = torch.zeros(4), torch.ones(4)
    # relativistic: only the difference between real and generated logits counts
    assert math.isclose(float(d_loss("r3gan", zero, zero)), math.log(2), rel_tol=1e-6)
    assert torch.allclose(d_loss("r3gan", one + 5, one + 3), d_loss("r3gan", one * 2, zero))
    assert torch.allclose(g_loss("r3gan", one, zero), d_loss("r3gan", one, zero))  # G: the same with roles swapped
    # R1 = E ||grad_x D(x)||^2: D(x) = <w, x> has gradient w, so the penalty is ||w||^2 for every image
    w = torch.randn(3, 2, 2, requires_grad=True)
    x = torch.randn(5, 3, 2, 2, requires_grad=True)
    f = torch.randn(5, 3, 2, 2, requires_grad=True)
    r1, r2 = gradient_penalties([(x * w).sum((1, 2, 3)), (f * w * 2).sum((1, 2, 3))], [x, f])
    assert torch.isclose(r1, w.square().sum()) and torch.isclose(r2, 4 * w.square().sum())
    r1.backward()
    assert torch.allclose(w.grad, 2 * w)  # d||w||^2 / dw
    assert r1.requires_grad  # kept in the graph, so the penalty trains D


def _trainable(precision: str = "fp32", **options):
    from genart.core.registry import get_kind
    from genart.kinds.gan.model import GANTrainable

    cfg = GANConfig(**{"data": "builtin:digits", "size": 8, "width": 8, "batch": 16, "device": "cpu", **options})
    cfg.validate()
    data = get_kind("gan").load_data(cfg, {})
    torch.manual_seed(0)
    return GANTrainable(cfg, data, torch.device("cpu"), precision, torch.Generator().manual_seed(1))


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_r3gan_trains_with_finite_losses_and_nonzero_penalties(arch: str) -> None:
    model = _trainable(arch=arch, loss="r3gan", augment="on")  # class-conditional, DiffAugment on
    assert model.cfg.gamma > 0  # filled in from --size
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in model.D.modules())
    before = [p.detach().clone() for p in model.D.parameters()]
    for step in range(3):
        out = model.train_step(step)
        assert all(bool(torch.isfinite(v).all()) for v in out.values()), out
        assert float(out["r1"]) > 0 and float(out["r2"]) > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.D.parameters(), strict=True))
    # the penalty moves D: with a large gamma the same step changes D's weights differently
    a, b = _trainable(loss="r3gan", gamma=1e-6), _trainable(loss="r3gan", gamma=100.0)
    a.train_step(0)
    b.train_step(0)
    assert not torch.allclose(next(a.D.parameters()), next(b.D.parameters()))


def test_r3gan_under_the_fp16_grad_scaler() -> None:
    """fp16 with the GradScaler (torch's CPU scaler runs the same code): finite penalties, as in fp32, and D steps."""
    model = _trainable("fp16", arch="mlp", loss="r3gan", labels="none")
    plain = _trainable("fp32", arch="mlp", loss="r3gan", labels="none")
    before = [p.detach().clone() for p in model.D.parameters()]
    out, ref = model.train_step(0), plain.train_step(0)
    assert all(bool(torch.isfinite(v).all()) for v in out.values()), out
    assert torch.isclose(out["r1"], ref["r1"], rtol=0.05) and float(out["r1"]) > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.D.parameters(), strict=True))  # not skipped


def test_loaded_optimizer_moments_keep_the_parameters_layout() -> None:
    """Checkpoints store Adam's moments contiguous; the dcgan's weights are channels_last on CPU, and fused Adam pairs
    them element by element in memory: after a resume the moments take their parameters' layout again, and the next
    step is the one an uninterrupted run takes."""
    a = _trainable(upsample="resize", loss="bce", labels="none", augment="off")
    for step in range(2):
        a.train_step(step)
    state = copy.deepcopy(a.state())
    for opt in ("opt_g", "opt_d"):  # as a checkpoint gives them back
        state[opt]["state"] = {i: {k: v.contiguous() for k, v in st.items()} for i, st in state[opt]["state"].items()}
    b = _trainable(upsample="resize", loss="bce", labels="none", augment="off")
    b.load_state(state)
    moments = [(p, b.opt_g.state[p]["exp_avg"]) for p in b.G.parameters() if p.dim() == 4]
    assert moments and all(m.stride() == p.stride() for p, m in moments)
    assert any(not p.is_contiguous() for p, _ in moments)  # the layouts differ here: the case that went wrong
    b.generator.set_state(a.generator.get_state())
    rng = torch.get_rng_state()
    a.train_step(2)
    torch.set_rng_state(rng)
    b.train_step(2)
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters(), strict=True))
