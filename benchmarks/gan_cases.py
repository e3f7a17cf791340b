"""The GAN training cases of benchmarks/run.py: two plain reference loops ("original": the networks as first written,
"clean": the same on logits with the data in memory), genart's own GANTrainable.train_step in fp32 and bf16, and
variants of genart with one of its choices flipped (measured without editing genart)."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from run_timing import Case
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from genart.data.images import ImageData
from genart.kinds.gan.config import GANConfig
from genart.kinds.gan.model import GANTrainable, build_discriminator, build_generator, init_weights


class Arch(NamedTuple):
    channels: int
    size: int
    z_dim: int
    conv: bool  # convolutional: DCGAN weight init in the reference loops, and a memory-format variant


BATCH = 64
ARCHS = {"mlp": Arch(1, 28, 100, conv=False), "dcgan": Arch(3, 32, 128, conv=True)}
N_IMAGES = 2048  # random training images per arch (the speed does not depend on what they show)
CPU = torch.device("cpu")


def random_data(arch: str, seed: int = 0) -> ImageData:
    c, s, _, _ = ARCHS[arch]
    g = torch.Generator().manual_seed(seed)
    return ImageData(images=torch.randint(0, 256, (N_IMAGES, c, s, s), dtype=torch.uint8, generator=g))


def gan_config(arch: str, augment: str = "off", size: int | None = None) -> GANConfig:
    # the dcgan as first written (transposed convolutions, BCE), so the reference loops and genart's step train the
    # same networks whatever genart's defaults; validated (any size from 8 to 256: the original MLP is 28x28)
    _, s, z, _ = ARCHS[arch]
    cfg = GANConfig(data="bench", arch=arch, size=size or s, batch=BATCH, augment=augment, z_dim=z,
                    upsample="transposed", loss="bce")
    cfg.validate()
    return cfg


def reference_nets(arch: str) -> tuple[nn.Module, nn.Module, int]:
    c, _, z, conv = ARCHS[arch]
    cfg = gan_config(arch)
    G, D = build_generator(cfg, c, 0), build_discriminator(cfg, c, 0)
    if conv:
        G.apply(init_weights)
        D.apply(init_weights)
    return G, D, z


def adam(params: object) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))  # torch's defaults otherwise


def original_case(arch: str, data: ImageData) -> Case:
    """The straightforward original: sigmoid on D then nn.BCELoss, float images through a DataLoader, eager fp32."""
    torch.manual_seed(0)
    G, D, z_dim = reference_nets(arch)
    opt_g, opt_d = adam(G.parameters()), adam(D.parameters())
    bce = nn.BCELoss()
    images = data.images.float() / 127.5 - 1.0
    loader = DataLoader(TensorDataset(images), batch_size=BATCH, shuffle=True, drop_last=True)
    it = iter(loader)
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)

    def disc(x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(D(x)).view(-1, 1)

    def step() -> object:
        nonlocal it
        try:
            (real,) = next(it)
        except StopIteration:
            it = iter(loader)
            (real,) = next(it)
        noise = torch.randn(BATCH, z_dim)
        fake = G(noise)
        opt_d.zero_grad()
        loss_d = bce(disc(real), ones) + bce(disc(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = bce(disc(fake), ones)  # non-saturating; D's weights get gradients too, cleared next step
        loss_g.backward()
        opt_g.step()
        return loss_d, loss_g

    return Case(arch, "original", "fp32", step, "sigmoid + nn.BCELoss, DataLoader")


def clean_case(arch: str, data: ImageData) -> Case:
    """The same networks, BCE with logits, images already in memory as one float tensor."""
    torch.manual_seed(0)
    G, D, z_dim = reference_nets(arch)
    opt_g, opt_d = adam(G.parameters()), adam(D.parameters())
    images = data.images.float() / 127.5 - 1.0
    ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)

    def step() -> object:
        real = images[torch.randint(len(images), (BATCH,))]
        fake = G(torch.randn(BATCH, z_dim))
        loss_d = (F.binary_cross_entropy_with_logits(D(real), ones)
                  + F.binary_cross_entropy_with_logits(D(fake.detach()), zeros))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return loss_d, loss_g

    return Case(arch, "clean", "fp32", step, "BCE with logits, in-memory tensor")


def genart_model(arch: str, data: ImageData, precision: str, augment: str = "off") -> GANTrainable:
    torch.manual_seed(0)
    return GANTrainable(gan_config(arch, augment), data, CPU, precision, torch.Generator().manual_seed(1))


def genart_case(model: GANTrainable, arch: str, name: str, precision: str, note: str = "") -> Case:
    case = Case(arch, name, precision, lambda: None, note)

    def step() -> object:
        case.i += 1
        return model.train_step(case.i)  # returns tensors, never synced to the host

    case.step = step
    return case


# --- variants: changes to genart measured without editing it --------------------------------------------

def is_channels_last(model: GANTrainable) -> bool:
    w = next((p for p in model.D.parameters() if p.dim() == 4), None)
    return w is not None and w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()


def other_memory_format(model: GANTrainable) -> tuple[GANTrainable, str]:
    """genart with the other memory format for G, D and the EMA copy: channels_last if it uses NCHW, and back."""
    fmt, name = ((torch.contiguous_format, "variant: NCHW") if is_channels_last(model)
                 else (torch.channels_last, "variant: channels_last"))
    for net in (model.G, model.D, model.G_ema):
        net.to(memory_format=fmt)
    return model, name


def uses_fused_adam(model: GANTrainable) -> bool:
    return bool(model.opt_g.defaults.get("fused"))


def other_adam(model: GANTrainable) -> tuple[GANTrainable, str]:
    """genart with the other Adam implementation: fused (torch >= 2.4 on CPU) if it uses foreach, and back."""
    cfg = model.cfg
    kw: dict[str, bool] = {"foreach": True} if uses_fused_adam(model) else {"fused": True}
    betas = (cfg.beta1, cfg.beta2)
    model.opt_g = torch.optim.Adam(model.G.parameters(), lr=cfg.lr_g, betas=betas, **kw)
    model.opt_d = torch.optim.Adam(model.D.parameters(), lr=cfg.lr_d, betas=betas, **kw)
    return model, "variant: foreach Adam" if "foreach" in kw else "variant: fused Adam"


def compiled(model: GANTrainable) -> GANTrainable:
    """Opt-in (--compile): torch.compile on the networks as trained; the first steps pay the compile time."""
    if hasattr(model, "G_train"):  # genart trains G_train and D_train (the DDP wrappers under torchrun, else G and D)
        model.G_train = torch.compile(model.G_train)
        model.D_train = model.D = torch.compile(model.D)
    else:
        model.G, model.D = torch.compile(model.G), torch.compile(model.D)
    return model


def gan_cases(arch: str, with_compile: bool) -> list[Case]:
    """Every case of one GAN arch, in the report's order."""
    data = random_data(arch)
    cases = [original_case(arch, data), clean_case(arch, data)]
    for prec in ("fp32", "bf16"):
        cases.append(genart_case(genart_model(arch, data, prec), arch, "genart", prec, "augment off"))
    for prec in ("fp32", "bf16"):
        cases.append(genart_case(genart_model(arch, data, prec, "on"), arch, "genart +augment", prec, "DiffAugment on"))
    for prec in ("fp32", "bf16"):
        model, name = other_adam(genart_model(arch, data, prec))
        cases.append(genart_case(model, arch, name, prec, "augment off"))
    if ARCHS[arch].conv:
        for prec in ("fp32", "bf16"):
            model, name = other_memory_format(genart_model(arch, data, prec))
            cases.append(genart_case(model, arch, name, prec, "augment off"))
    if with_compile:
        for prec in ("fp32", "bf16"):
            cases.append(genart_case(compiled(genart_model(arch, data, prec)), arch, "variant: torch.compile", prec,
                                     "augment off; compile time not counted"))
    return cases
