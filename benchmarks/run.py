"""genart benchmarks: matrix-multiply peaks, GAN training speed against plain reference loops, bf16 soundness and
generation latency. Writes a markdown table (default benchmarks/RESULTS.md) and prints the same.

    .venv/bin/python benchmarks/run.py            # full run: about 2.5 minutes on 2 idle cores
    .venv/bin/python benchmarks/run.py --quick    # smoke run: about 20 seconds
    .venv/bin/python benchmarks/run.py --compile --rounds 3 --skip soundness,generation --append   # torch.compile

Run it alone. With all cores in use, torch's threads wait for each other at every op, so another process on the
machine slows a step five- to twenty-fold, not two-fold. The run watches /proc/stat: every timing window records the
share of the CPU other processes took, training figures come from the quiet windows (with extra rounds, up to
--extra seconds, when there were too few), and the report says how busy the machine was."""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from machine import cpu_model, load_average  # noqa: E402

from genart.core.device import set_threads  # noqa: E402
from genart.data import load_images  # noqa: E402
from genart.data.images import ImageData  # noqa: E402
from genart.kinds.gan.config import GANConfig  # noqa: E402
from genart.kinds.gan.model import GANTrainable, build_discriminator, build_generator, init_weights  # noqa: E402

BATCH = 64
ARCHS = {"mlp": (1, 28, 100), "dcgan": (3, 32, 128)}  # channels, size, z_dim
QUIET = 0.05  # a timing window counts as quiet when other processes took less than this share of the CPU
ROUNDS = 6  # timing rounds in a full run; many short rounds, best taken, ride out bursts of other load
N_IMAGES = 2048  # random training images per arch (the speed does not depend on what they show)
CPU = torch.device("cpu")
KINDS = ("mlp", "dcgan", "vae", "text")  # what --archs can name
TEXT_CHARS_PER_STEP = 32 * 128


# --- machine ----------------------------------------------------------------------------------------

def cpu_flag(name: str) -> bool:
    try:
        return bool(getattr(torch.cpu, name)())
    except (AttributeError, RuntimeError):
        return False


def cpu_busy() -> tuple[float, float]:
    """(seconds of CPU time the whole machine has spent busy, seconds this process has used) so far."""
    busy = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        busy = (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    t = os.times()
    return busy, t.user + t.system


def others_share(start: tuple[float, float], wall: float) -> float:
    """Fraction of the machine's CPU capacity used by other processes since `start`."""
    busy, mine = cpu_busy()
    return max(0.0, (busy - start[0]) - (mine - start[1])) / max(1e-9, wall * (os.cpu_count() or 1))


def machine(threads: int) -> dict[str, str]:
    return {
        "CPU": cpu_model(),
        "cores (os.cpu_count)": str(os.cpu_count()),
        "torch": torch.__version__,
        "threads (torch.get_num_threads)": str(threads),
        "AVX512-BF16": str(cpu_flag("_is_avx512_bf16_supported")),
        "AMX tiles": str(cpu_flag("_is_amx_tile_supported")),
        "python": platform.python_version(),
    }


# --- matrix-multiply peaks ------------------------------------------------------------------------

def mm_peak(dtype: torch.dtype, sizes: tuple[int, ...], reps: int) -> float:
    """Best GFLOP/s of a square torch.mm over the given sizes."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        torch.mm(a, b)
        for _ in range(reps):
            t = time.perf_counter()
            torch.mm(a, b)
            best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def conv_peak(dtype: torch.dtype, reps: int) -> float:
    """GFLOP/s of a 3x3 convolution (256 to 256 channels, 16x16, batch 32), which runs on oneDNN, not MKL."""
    conv = nn.Conv2d(256, 256, 3, padding=1, bias=False)
    x = torch.randn(32, 256, 16, 16)
    flops = 2 * 32 * 16 * 16 * 256 * 256 * 9
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if dtype == torch.bfloat16 else contextlib.nullcontext()
    best = 0.0
    with torch.inference_mode(), ctx:
        conv(x)
        for _ in range(reps):
            t = time.perf_counter()
            conv(x)
            best = max(best, flops / (time.perf_counter() - t) / 1e9)
    return best


# --- the training cases -------------------------------------------------------------------------------

@dataclass
class Case:
    """One way of training one arch: `step()` runs a whole GAN step (D on real and fake, then G)."""

    arch: str
    name: str
    precision: str
    step: Callable[[], object]
    note: str = ""
    rates: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)  # share of the CPU other processes took in each window
    flops: float = 0.0
    i: int = 0

    def run(self, n: int) -> None:
        for _ in range(n):
            self.step()

    @property
    def quiet(self) -> list[float]:
        return [r for r, o in zip(self.rates, self.others, strict=True) if o < QUIET]

    @property
    def best(self) -> float:
        """The best window in which the machine was otherwise quiet; failing that, the best window."""
        rates = self.quiet or self.rates
        return max(rates) if rates else float("nan")


def random_data(arch: str, seed: int = 0) -> ImageData:
    c, s, _ = ARCHS[arch]
    g = torch.Generator().manual_seed(seed)
    return ImageData(images=torch.randint(0, 256, (N_IMAGES, c, s, s), dtype=torch.uint8, generator=g))


def gan_config(arch: str, augment: str = "off", size: int | None = None) -> GANConfig:
    # built directly, not validated: validate() only admits powers of two, and the original MLP is 28x28
    c, s, z = ARCHS[arch]
    return GANConfig(data="bench", arch=arch, size=size or s, batch=BATCH, augment=augment, z_dim=z)


def reference_nets(arch: str) -> tuple[nn.Module, nn.Module, int]:
    c, _, z = ARCHS[arch]
    cfg = gan_config(arch)
    G, D = build_generator(cfg, c, 0), build_discriminator(cfg, c, 0)
    if arch == "dcgan":
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


def count_flops(case: Case) -> float:
    with FlopCounterMode(display=False) as fc:
        case.step()
    return float(fc.get_total_flops())


def compiled(model: GANTrainable) -> GANTrainable:
    """Opt-in (--compile): torch.compile on the networks as trained; the first steps pay the compile time."""
    if hasattr(model, "G_train"):  # genart trains G_train and D_train (the DDP wrappers under torchrun, else G and D)
        model.G_train = torch.compile(model.G_train)
        model.D_train = model.D = torch.compile(model.D)
    else:
        model.G, model.D = torch.compile(model.G), torch.compile(model.D)
    return model


def other_cases(arch: str) -> list[Case]:
    """The VAE and text-LSTM cases (benchmarks/more_cases.py)."""
    import tempfile

    import more_cases

    if arch == "vae":
        return [Case(arch, name, prec, step, note) for name, prec, step, note in more_cases.vae_steps()]
    tmp = Path(tempfile.mkdtemp(prefix="genart-bench-"))
    rows, flops = more_cases.text_steps(tmp)
    return [Case(arch, name, prec, step, note, flops=flops) for name, prec, step, note in rows]


def build_cases(arch: str, with_compile: bool) -> list[Case]:
    if arch not in ARCHS:
        return other_cases(arch)
    data = random_data(arch)
    cases = [original_case(arch, data), clean_case(arch, data)]
    for prec in ("fp32", "bf16"):
        cases.append(genart_case(genart_model(arch, data, prec), arch, "genart", prec, "augment off"))
    for prec in ("fp32", "bf16"):
        cases.append(genart_case(genart_model(arch, data, prec, "on"), arch, "genart +augment", prec, "DiffAugment on"))
    for prec in ("fp32", "bf16"):
        model, name = other_adam(genart_model(arch, data, prec))
        cases.append(genart_case(model, arch, name, prec, "augment off"))
    if arch == "dcgan":
        for prec in ("fp32", "bf16"):
            model, name = other_memory_format(genart_model(arch, data, prec))
            cases.append(genart_case(model, arch, name, prec, "augment off"))
    if with_compile:
        for prec in ("fp32", "bf16"):
            cases.append(genart_case(compiled(genart_model(arch, data, prec)), arch, "variant: torch.compile", prec,
                                     "augment off; compile time not counted"))
    return cases


def time_cases(cases: list[Case], rounds: int, seconds: float, min_steps: int, warmup: int, extra_s: float = 0.0) -> None:
    """`rounds` rounds, the cases alternating within each round, each timed for at least `seconds`. Then, for up to
    `extra_s` seconds, more rounds of the cases that have fewer than two quiet rounds (a busy machine)."""
    for c in cases:
        t = time.perf_counter()
        c.run(warmup)
        if "compile" in c.name:
            c.note += f" ({time.perf_counter() - t:.0f} s to compile and warm up; less with a warm Inductor cache)"
        elif not c.flops:  # (the text cases count their FLOPs themselves: FlopCounterMode cannot see oneDNN's LSTM)
            c.flops = count_flops(c)  # FlopCounterMode does not see inside compiled graphs
        if not c.flops:
            c.flops = next((o.flops for o in cases if o.name == "genart" and o.precision == c.precision), 0.0)

    def window(c: Case) -> None:
        n, t0, cpu0 = 0, time.perf_counter(), cpu_busy()
        while n < min_steps or time.perf_counter() - t0 < seconds:
            c.step()
            n += 1
        wall = time.perf_counter() - t0
        c.rates.append(n / wall)
        c.others.append(others_share(cpu0, wall))

    for _ in range(rounds):
        for c in cases:
            window(c)
    deadline = time.perf_counter() + extra_s
    while time.perf_counter() < deadline:
        lacking = [c for c in cases if len(c.quiet) < min(2, rounds)]
        if not lacking:
            break
        for c in lacking:
            window(c)


# --- bf16 soundness ---------------------------------------------------------------------------------------

def soundness(steps: int, tail: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """genart's dcgan on builtin:digits at 32x32, fp32 and bf16 from the same seed: mean losses over the tail.

    Configured as `genart train gan --data builtin:digits --size 32` would be (defaults for everything else);
    the images come from genart.data.builtin.load_builtin, through load_images for the --labels rule."""
    cfg = GANConfig(data="builtin:digits", arch="dcgan", size=32, batch=BATCH)
    cfg.validate()  # z_dim, and the defaults `genart train` would apply
    data = load_images(cfg)
    out = {}
    for prec in ("fp32", "bf16"):
        torch.manual_seed(seed)  # as the Trainer seeds
        model = GANTrainable(cfg, data, CPU, prec, torch.Generator().manual_seed(seed + 1))
        hist: dict[str, list[torch.Tensor]] = {}
        t0 = time.perf_counter()
        for step in range(steps):
            for k, v in model.train_step(step).items():
                hist.setdefault(k, []).append(v)
        secs = time.perf_counter() - t0
        out[prec] = {k: float(torch.stack(v[-tail:]).float().mean()) for k, v in hist.items()}
        out[prec]["steps_per_s"] = steps / secs
        out[prec]["augment"] = float(getattr(model, "augment", False))
        out[prec]["classes"] = float(model.num_classes)
    return out


# --- generation latency ---------------------------------------------------------------------------------

def generation(reps: int, attempts: int) -> tuple[dict[str, float], bool]:
    """64 images at 32x32 from a dcgan generator, eval mode, inference_mode: median ms of `reps` calls.

    Up to `attempts` tries, until one in which other processes left the CPU alone; otherwise the fastest try.
    Returns the medians and whether they come from a quiet try."""
    c, s, z_dim = ARCHS["dcgan"]
    torch.manual_seed(0)
    G = build_generator(gan_config("dcgan"), c, 0).apply(init_weights).eval()
    G_cl = copy.deepcopy(G).to(memory_format=torch.channels_last)
    z = torch.randn(BATCH, z_dim)
    variants = (("fp32", G, "fp32"), ("bf16 autocast", G, "bf16"),
                ("fp32, channels_last", G_cl, "fp32"), ("bf16 autocast, channels_last", G_cl, "bf16"))
    best: dict[str, float] = {}
    for _ in range(attempts):
        out = {}
        t0, cpu0 = time.perf_counter(), cpu_busy()
        for name, net, prec in variants:
            ctx = torch.autocast("cpu", dtype=torch.bfloat16) if prec == "bf16" else contextlib.nullcontext()
            times = []
            with torch.inference_mode(), ctx:
                for _ in range(3):
                    net(z)
                for _ in range(reps):
                    t = time.perf_counter()
                    net(z)
                    times.append((time.perf_counter() - t) * 1e3)
            out[name] = statistics.median(times)
        if others_share(cpu0, time.perf_counter() - t0) < QUIET:
            return out, True
        best = out if not best or sum(out.values()) < sum(best.values()) else best
    return best, False


# --- report -------------------------------------------------------------------------------------------------

def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def pct(x: float, of: float) -> str:
    return f"{100 * x / of:.0f}%" if of == of and of > 0 else "n/a"


def training_table(cases: list[Case], peaks: dict[str, float], conv_peaks: dict[str, float]) -> str:
    rows = []
    for arch in dict.fromkeys(c.arch for c in cases):
        mine = [c for c in cases if c.arch == arch]
        if not mine:
            continue
        ref = {c.name: c.best for c in mine if c.precision == "fp32"}
        clean = next(c for c in mine if c.name == "clean" and c.precision == "fp32")
        for c in mine:
            # each round's ratio to the clean loop's window next to it: steadier than best over best when the
            # machine's speed drifts during the run
            paired = [a / b for a, b in zip(c.rates, clean.rates, strict=False) if b > 0]
            vs_clean_rounds = f"{statistics.median(paired):.2f}x" if paired else "n/a"
            gflops = c.flops * c.best / 1e9
            vs_clean = f"{c.best / ref['clean']:.2f}x"
            vs_orig = f"{c.best / ref['original']:.2f}x"
            spread = f"{min(c.rates):.2f}-{max(c.rates):.2f}"
            quiet = f"{len(c.quiet)}/{len(c.rates)}"
            rows.append([arch, c.name, c.precision, f"**{c.best:.2f}**", spread, quiet, vs_clean, vs_clean_rounds, vs_orig,
                         f"{c.flops / 1e9:.2f}", f"{gflops:.1f}", pct(gflops, peaks[c.precision]),
                         pct(gflops, conv_peaks[c.precision]),
                         "; ".join(x for x in (c.note, f"**{c.best * TEXT_CHARS_PER_STEP:,.0f} characters/s**"
                                               if arch == "text" else "") if x)])
    return table(["arch", "loop", "precision", "steps/s (best)", "range over rounds", "quiet rounds", "vs clean fp32",
                  "vs clean fp32, median of rounds", "vs original fp32", "GFLOP/step", "GFLOP/s", "% of mm peak",
                  "% of conv peak", "note"], rows)


SECTIONS = ("peaks", "kernels", "train", "soundness", "generation", "sampling")

# (name, in channels, out channels, input size, transposed): the 4x4 stride-2 layers of the dcgan and the VAE at 32x32
CONV_LAYERS = (("dcgan D 64->128, 16->8", 64, 128, 16, False), ("dcgan D 128->256, 8->4", 128, 256, 8, False),
               ("dcgan G 256->128, 4->8", 256, 128, 4, True), ("dcgan G 128->64, 8->16", 128, 64, 8, True),
               ("VAE enc 32->64, 16->8", 32, 64, 16, False), ("VAE dec 64->32, 8->16", 64, 32, 8, True))


def _median_ms(fn: Callable[[], object], reps: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def kernels(reps: int) -> list[list[str]]:
    """Each 4x4 stride-2 layer at batch 64: forward, backward-data and backward-weight GFLOP/s, fp32 in NCHW (as the
    reference loops run) and bf16 in channels_last (as genart runs); and the LSTM of the text cases."""
    backward = torch.ops.aten.convolution_backward
    rows = []
    for name, cin, cout, size, transposed in CONV_LAYERS:
        figures = {}
        for dtype, fmt, key in ((torch.float32, torch.contiguous_format, "fp32"),
                                (torch.bfloat16, torch.channels_last, "bf16")):
            x = torch.randn(BATCH, cin, size, size, dtype=dtype).contiguous(memory_format=fmt)
            w_shape = (cin, cout, 4, 4) if transposed else (cout, cin, 4, 4)
            w = torch.randn(w_shape, dtype=dtype).contiguous(memory_format=fmt)
            conv = F.conv_transpose2d if transposed else F.conv2d
            y = conv(x, w, None, 2, 1)
            go = torch.randn_like(y)
            flops = 2.0 * (x if transposed else y).numel() * (cout if transposed else cin) * 16

            def bw(mask: list[bool], go: torch.Tensor = go, x: torch.Tensor = x, w: torch.Tensor = w,
                   transposed: bool = transposed) -> object:
                return backward(go, x, w, None, [2, 2], [1, 1], [1, 1], transposed, [0, 0], 1, mask)

            ms = [_median_ms(lambda conv=conv, x=x, w=w: conv(x, w, None, 2, 1), reps),
                  _median_ms(lambda bw=bw: bw([True, False, False]), reps),
                  _median_ms(lambda bw=bw: bw([False, True, False]), reps)]
            figures[key] = [flops / t / 1e6 for t in ms]
        rows.append([name] + [_pair(figures, i) for i in range(3)] + [_bound(figures, (1 / 3, 1 / 3, 1 / 3))])
    # the LSTM: oneDNN's whole-sequence kernel, forward and forward + backward
    import more_cases

    cfg = more_cases.TEXT
    lstm = nn.LSTM(cfg["embed"], cfg["hidden"], cfg["layers"], batch_first=True)
    x = torch.randn(cfg["batch"], cfg["bptt"], cfg["embed"])
    per_char = 2 * 4 * cfg["hidden"] * (cfg["embed"] + cfg["hidden"]) + 2 * 4 * cfg["hidden"] * 2 * cfg["hidden"]
    flops = per_char * cfg["batch"] * cfg["bptt"]
    figures = {}
    for key in ("fp32", "bf16"):
        ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if key == "bf16" else contextlib.nullcontext

        def fwd(ctx: Callable[[], Any] = ctx) -> object:
            with torch.no_grad(), ctx():
                return lstm(x)

        def both(ctx: Callable[[], Any] = ctx) -> object:
            with ctx():
                out, _ = lstm(x)
            out.float().sum().backward()
            return out

        t_f, t_b = _median_ms(fwd, max(3, reps // 3)), _median_ms(both, max(3, reps // 3))
        figures[key] = [flops / t_f / 1e6, 2 * flops / max(1e-9, t_b - t_f) / 1e6]
    rows.append(["LSTM 2 x 512, batch 32 x 128"] + [_pair(figures, i) for i in range(2)] + ["(in the backward)",
                                                                                            _bound(figures, (1 / 3, 2 / 3))])
    return rows


def _bound(figures: dict[str, list[float]], shares: tuple[float, ...]) -> str:
    """The speed-up of the whole layer (forward and backward) when each part keeps its share of the FLOPs."""
    fp32 = sum(s / f for s, f in zip(shares, figures["fp32"], strict=False))
    bf16 = sum(s / f for s, f in zip(shares, figures["bf16"], strict=False))
    return f"**{fp32 / bf16:.2f}x**"


def _pair(figures: dict[str, list[float]], i: int) -> str:
    fp32, bf16 = figures["fp32"][i], figures["bf16"][i]
    return f"{fp32:.0f} / {bf16:.0f} ({bf16 / fp32:.2f}x)"


def sampling(seconds: float, attempts: int) -> tuple[list[list[str]], bool]:
    """Text sampling characters/s: genart's sampler (top-k 40, temperature 0.8, a generator per row) against the plain
    loop (one nn.LSTM call per character, torch.multinomial), at batch 1 and 32, for the default 2 x 256 network and
    the 2 x 512 one. Up to `attempts` tries until one is quiet. Returns table rows and whether they are quiet."""
    import bench_text
    import more_cases

    best: list[list[str]] = []
    for _ in range(attempts):
        rows = []
        t0, cpu0 = time.perf_counter(), cpu_busy()
        for hidden in (256, 512):
            model = more_cases.sampling_model(hidden)
            params = sum(p.numel() for p in model.parameters()) / 1e6
            for batch, length in ((1, 300), (32, 100)):
                chars = batch * length
                mine = bench_text.rate(bench_text.genart_sampling(model, batch, length), chars, seconds, warmup=1)
                plain = bench_text.rate(bench_text.reference_sampling(model, batch, length), chars, seconds, warmup=1)
                rows.append([f"2 x {hidden} LSTM ({params:.1f}M parameters)", str(batch), f"**{mine:,.0f}**",
                             f"{plain:,.0f}", f"{mine / plain:.2f}x"])
        if others_share(cpu0, time.perf_counter() - t0) < QUIET:
            return rows, True
        best = best or rows
    return best, False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short smoke run (under a minute)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"), help="markdown file to write")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    ap.add_argument("--archs", default=",".join(KINDS), help=f"comma-separated, of: {','.join(KINDS)}")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd G and D (a minute or more)")
    ap.add_argument("--rounds", type=int, default=0, help=f"timing rounds (default {ROUNDS}, --quick 1)")
    ap.add_argument("--extra", type=float, default=90.0,
                    help="seconds per arch of extra rounds when the machine was busy (default 90; --quick: none)")
    ap.add_argument("--sound-steps", type=int, default=0, help="bf16 soundness steps (default 300, --quick 10)")
    ap.add_argument("--append", action="store_true", help="add this run's report to the end of --out instead of replacing it")
    ap.add_argument("--skip", default="", help=f"comma-separated sections to leave out: {','.join(SECTIONS)}")
    args = ap.parse_args()
    quick = args.quick
    skip = {x for x in args.skip.split(",") if x}
    if set(args.archs.split(",")) - set(KINDS):
        ap.error(f"--archs: unknown {', '.join(sorted(set(args.archs.split(',')) - set(KINDS)))}")
    if skip - set(SECTIONS):
        ap.error(f"--skip: unknown section(s) {', '.join(sorted(skip - set(SECTIONS)))}")
    nan = float("nan")

    threads = set_threads(args.threads or os.cpu_count() or 1)
    t_start = time.perf_counter()
    cpu_start = cpu_busy()
    load_before = load_average()
    info = machine(torch.get_num_threads())

    def stamp() -> str:
        return f"[{time.perf_counter() - t_start:.0f} s]"

    print("genart benchmarks: run this alone; other work on the CPU lowers and scatters every figure")
    for k, v in info.items():
        print(f"  {k}: {v}")
    print(f"  running on {threads} threads ({os.cpu_count()} cores); load average before: {load_before}", flush=True)
    cmd = " ".join([".venv/bin/python", "benchmarks/run.py", *sys.argv[1:]])
    body: list[str] = []

    # 2. matrix-multiply peaks
    sizes = (1024, 2048) if quick else (1024, 2048, 3072)
    reps = 2 if quick else 5
    peaks = {"fp32": nan, "bf16": nan}
    conv_peaks = dict(peaks)
    if "peaks" not in skip:
        peaks_quiet = False
        for _ in range(1 if quick else 4):  # on a busy machine, try again (the best of all tries is kept)
            t0, cpu0 = time.perf_counter(), cpu_busy()
            for dt, key in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
                peaks[key] = max(mm_peak(dt, sizes, reps), 0.0 if peaks[key] != peaks[key] else peaks[key])
                conv_peaks[key] = max(conv_peak(dt, reps), 0.0 if conv_peaks[key] != conv_peaks[key] else conv_peaks[key])
            if others_share(cpu0, time.perf_counter() - t0) < QUIET:
                peaks_quiet = True
                break
        print(f"mm peak: fp32 {peaks['fp32']:.1f} GFLOP/s, bf16 {peaks['bf16']:.1f} GFLOP/s; 3x3 conv (oneDNN): "
              f"fp32 {conv_peaks['fp32']:.1f}, bf16 {conv_peaks['bf16']:.1f} {stamp()}", flush=True)
        body += ["## Matrix-multiply peaks", "",
                 table(["dtype", f"torch.mm GFLOP/s (best square, n up to {sizes[-1]})",
                        "3x3 conv GFLOP/s (oneDNN, 32x256x16x16)"],
                       [[k, f"{v:.1f}", f"{conv_peaks[k]:.1f}"] for k, v in peaks.items()]), "",
                 "fp32 torch.mm runs on MKL and bf16 torch.mm on oneDNN; convolutions always run on oneDNN. "
                 + ("Measured while the machine was otherwise quiet." if peaks_quiet
                    else "**Other processes were using the CPU during every try: these peaks are too low.**"), ""]

    # 2b. kernels: where bf16 pays and where it does not
    if "kernels" not in skip:
        rows = kernels(5 if quick else 30)
        for r in rows:
            print("  kernel " + " | ".join(r), flush=True)
        body += ["## Kernels: GFLOP/s of each part of a training step, fp32 / bf16", "",
                 "Batch 64 for the convolutions (fp32 in NCHW as the reference loops run them, bf16 in channels_last "
                 "as genart does); the LSTM as in the text cases (its backward holds both gradients). Median of "
                 f"{5 if quick else 30} calls. Forward, input gradient and weight gradient each hold a third of a "
                 "layer's FLOPs (the LSTM: forward a third, backward two), so the last column, the layer's whole "
                 "fp32 time over its whole bf16 time, is what bf16 can give a training step made of such layers; "
                 "on CPUs without AMX the bf16 weight-gradient kernels are little faster than fp32's, which caps it "
                 "well below the matrix-multiply peaks' ratio.", "",
                 table(["layer", "forward", "backward, input gradient", "backward, weight gradient",
                        "fp32 / bf16 time, whole layer"], rows), ""]

    # 3-4. training speed and achieved GFLOP/s
    if "train" not in skip:
        rounds = args.rounds or (1 if quick else ROUNDS)
        cases: list[Case] = []
        for arch in args.archs.split(","):
            arch_cases = build_cases(arch, args.compile)
            if quick:
                time_cases(arch_cases, rounds=rounds, seconds=0.2, min_steps=1, warmup=1)
            else:
                time_cases(arch_cases, rounds=rounds, seconds=0.5, min_steps=3, warmup=3, extra_s=args.extra)
            for c in arch_cases:
                print(f"  {arch:5} {c.name:24} {c.precision}: {c.best:7.2f} steps/s (rounds: "
                      f"{', '.join(f'{r:.2f}' + ('' if o < QUIET else '*') for r, o in zip(c.rates, c.others, strict=True))}"
                      f"), {c.flops / 1e9:.2f} GFLOP/step", flush=True)
            print(f"  {stamp()} (* = a round in which other processes took {100 * QUIET:.0f}% of the CPU or more)",
                  flush=True)
            cases += arch_cases
        body += ["## Training speed", "",
                 f"GANs at batch {BATCH} (mlp: 28x28, 1 channel; dcgan: 32x32, 3 channels; unconditional, random "
                 "images), the VAE at 32x32, 3 channels, batch 64, and the text LSTM the issue names (2 x 512, "
                 "embedding 64, 128 characters x batch 32 = 4,096 characters per step, 65 symbols). "
                 "`original` and `clean` are the reference loops (eager fp32, torch's default Adam; the GAN's in this "
                 "file, the VAE's and the LSTM's in benchmarks/more_cases.py): `original` is the networks as first "
                 "written (probabilities then BCE or NLL, a DataLoader), `clean` the same networks on logits with the "
                 "data already in memory. `genart` is the kind's own `train_step` (the GAN's also updates the EMA "
                 "generator; the LSTM's carries its hidden state, schedules its learning rate, clips gradients and "
                 "uses genart's default dropout 0.2). `variant:` rows are genart with one of its choices flipped "
                 "(fused or foreach Adam; channels_last or NCHW for dcgan; dropout; torch.compile with --compile), "
                 "to show what each choice is worth. "
                 f"{rounds} rounds (each at least {1 if quick else 3} steps and {0.2 if quick else 0.5} s), the loops "
                 f"alternating; steps/s is the best quiet round (other processes under {100 * QUIET:.0f}% of the CPU), "
                 "or the best round when none was quiet; `vs clean fp32` divides best by best, `median of rounds` "
                 "divides each round by the clean loop's window in the same round (steadier when the machine's speed "
                 "drifts during the run, as this one's does)"
                 + ("" if quick else "; on a busy machine, loops with fewer than two quiet rounds get more rounds, "
                    f"for up to {args.extra:.0f} s per arch") + ". "
                 "FLOPs counted with FlopCounterMode over one step (forward and backward of all nets; for the LSTM, "
                 "counted by formula: its oneDNN kernel is invisible to FlopCounterMode); "
                 "% of peak is against the torch.mm and the 3x3 convolution peaks of the same dtype.", "",
                 training_table(cases, peaks, conv_peaks), ""]

    # 5. bf16 soundness
    if "soundness" not in skip:
        steps = args.sound_steps or (10 if quick else 300)
        tail = min(100, max(1, steps // 3))
        # The losses do not depend on the thread count, but the time does: on a busy machine, threads that wait for
        # each other at every op make a 2-thread run several times slower than a 1-thread one.
        probe = cpu_busy()
        time.sleep(1.0)
        sound_threads = 1 if others_share(probe, 1.0) > 0.25 else threads
        torch.set_num_threads(sound_threads)
        sound = soundness(steps, tail)
        torch.set_num_threads(threads)
        print(f"bf16 soundness ({steps} steps, mean of the last {tail}): "
              + "; ".join(f"{p}: " + ", ".join(f"{k} {v:.3f}" for k, v in d.items()) for p, d in sound.items())
              + f" {stamp()}", flush=True)
        body += [f"## bf16 soundness: genart dcgan on builtin:digits 32x32, {steps} steps from seed 0", "",
                 "Configured as `genart train gan --data builtin:digits --size 32` would be; both runs start from the "
                 f"same weights and draw the same batches. Run on {sound_threads} thread(s)"
                 + (" because the machine was busy." if sound_threads != threads else "."), "",
                 table(["precision", "steps/s", f"mean loss_d (last {tail})", f"mean loss_g (last {tail})",
                        "mean D(real)", "mean D(fake)", "augment", "classes"],
                       [[p, f"{d['steps_per_s']:.2f}", f"{d['loss_d']:.3f}", f"{d['loss_g']:.3f}",
                         f"{d.get('d_real', nan):.3f}", f"{d.get('d_fake', nan):.3f}",
                         ("on" if d["augment"] else "off") + (f" (mean p {d['aug_p']:.2f})" if "aug_p" in d else ""),
                         f"{d['classes']:.0f}"] for p, d in sound.items()]), ""]
        import more_cases

        text_steps = 10 if quick else 200
        text_tail = max(1, text_steps // 4)
        torch.set_num_threads(sound_threads)
        tsound = more_cases.text_soundness(text_steps, text_tail)
        torch.set_num_threads(threads)
        print("text bf16 soundness: " + "; ".join(f"{p}: train {d['train_loss']:.4f}, val {d.get('val_loss', nan):.4f}"
                                                  for p, d in tsound.items()) + f" {stamp()}", flush=True)
        body += [f"## bf16 soundness: the default text model on builtin:shakespeare, {text_steps} steps from seed 0", "",
                 "2 x 256 LSTM, batch 32 x 64 characters, dropout off (so both runs compute the same thing); same "
                 "weights and batches in both; nats per character.", "",
                 table(["precision", f"mean training loss (last {text_tail} steps)", "validation loss at the end"],
                       [[p, f"{d['train_loss']:.4f}", f"{d.get('val_loss', nan):.4f}"] for p, d in tsound.items()]), ""]

    # 6. generation latency
    if "generation" not in skip:
        reps = 8 if quick else 20
        gen, gen_quiet = generation(reps, attempts=2 if quick else 5)
        print("generation, 64 images 32x32 (median ms): " + ", ".join(f"{k} {v:.1f}" for k, v in gen.items())
              + ("" if gen_quiet else " (machine busy)") + f" {stamp()}", flush=True)
        body += ["## Generation: 64 images at 32x32 from a dcgan generator (eval, inference_mode)", "",
                 table(["precision", f"median ms (of {reps})"], [[k, f"{v:.1f}"] for k, v in gen.items()]), "",
                 "Measured while the machine was otherwise quiet." if gen_quiet
                 else "**No try was quiet: other processes were using the CPU; these are the fastest try's figures.**", ""]

    # 7. text sampling
    if "sampling" not in skip:
        rows, quiet = sampling(0.5 if quick else 2.0, attempts=1 if quick else 3)
        for r in rows:
            print(f"  sampling {r[0]}, batch {r[1]}: genart {r[2]} chars/s, plain loop {r[3]} ({r[4]})", flush=True)
        body += ["## Text sampling, characters/s", "",
                 "genart's sampler (`sample_tokens`: temperature 0.8, top-k 40, one random generator per row so a seed "
                 "gives the same text whatever else is sampled) against the plain loop a user would write (one "
                 "nn.LSTM call per character, softmax, top-k, torch.multinomial), both fp32 under inference mode.", "",
                 table(["network", "batch", "genart", "plain loop", "genart / plain"], rows), "",
                 "Measured while the machine was otherwise quiet." if quiet
                 else "**Other processes were using the CPU: these figures are low.**", ""]

    # 8. report
    load_after = load_average()
    elapsed = time.perf_counter() - t_start
    others = others_share(cpu_start, elapsed)
    print(f"other processes used {100 * others:.0f}% of the CPU during this run; load average after: {load_after}")
    md = ["# genart benchmarks", "",
          f"Produced by `{cmd}` on {time.strftime('%Y-%m-%d %H:%M')}, in {elapsed:.0f} s, on {threads} threads.", "",
          "## Machine", "", table(["", ""], [[k, v] for k, v in info.items()]), "",
          f"Load average (1, 5, 15 min) before: {load_before}; after: {load_after}. "
          f"Other processes used {100 * others:.0f}% of the machine's CPU time during the run (from /proc/stat). "
          + ("**The machine was busy with other work during part of this run.** Training figures come from the quiet "
             "rounds only where there were any (column `quiet rounds`); the sections below say how they coped."
             if others > QUIET else "The machine was otherwise idle."), "",
          *body]
    text = "\n".join(md)
    print()
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.append and out.exists():
        text = out.read_text().rstrip("\n") + "\n\n---\n\n" + text.replace("benchmarks", "benchmarks, another run", 1)
    out.write_text(text)
    print(f"{'appended' if args.append else 'written'} to {out}")


if __name__ == "__main__":
    main()
