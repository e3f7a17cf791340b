"""The "soundness" section of benchmarks/run.py: does bf16 train as well as fp32? genart's dcgan on builtin:digits
and the default text model on builtin:shakespeare, each trained in fp32 and in bf16 from the same seed on the same
batches, their losses side by side."""

from __future__ import annotations

import os
import time

import gan_cases
import more_cases
import torch
from machine import bf16_lstm
from run_report import NAN, Run, table

from genart.core.device import busy_cores
from genart.data.image_data import load_images
from genart.kinds.gan.config import GANConfig
from genart.kinds.gan.model import GANTrainable

SIZE = 32  # the dcgan's image size


def soundness(steps: int, tail: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """genart's dcgan on builtin:digits at 32x32, fp32 and bf16 from the same seed: mean losses over the tail.

    Configured as `genart train gan --data builtin:digits --size 32` would be (defaults for everything else);
    the images come from genart.data.builtin.load_builtin, through load_images for the --labels rule."""
    cfg = GANConfig(data="builtin:digits", arch="dcgan", size=SIZE, batch=gan_cases.BATCH)
    cfg.validate()  # z_dim, and the defaults `genart train` would apply
    data = load_images(cfg)
    out = {}
    for prec in ("fp32", "bf16"):
        torch.manual_seed(seed)  # as the Trainer seeds
        model = GANTrainable(cfg, data, gan_cases.CPU, prec, torch.Generator().manual_seed(seed + 1))
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


def quiet_threads(threads: int) -> int:
    """The losses do not depend on the thread count, but the time does: on a busy machine, threads that wait for
    each other at every op make a 2-thread run several times slower than a 1-thread one."""
    busy = busy_cores(1.0) or 0.0
    return 1 if busy / (os.cpu_count() or 1) > 0.25 else threads


def gan_part(run: Run, sound_threads: int) -> list[str]:
    steps = run.args.sound_steps or (10 if run.quick else 300)
    tail = min(100, max(1, steps // 3))
    torch.set_num_threads(sound_threads)
    sound = soundness(steps, tail)
    torch.set_num_threads(run.threads)
    print(f"bf16 soundness ({steps} steps, mean of the last {tail}): "
          + "; ".join(f"{p}: " + ", ".join(f"{k} {v:.3f}" for k, v in d.items()) for p, d in sound.items())
          + f" {run.stamp()}", flush=True)
    return [f"## bf16 soundness: genart dcgan on builtin:digits {SIZE}x{SIZE}, {steps} steps from seed 0", "",
            f"Configured as `genart train gan --data builtin:digits --size {SIZE}` would be; both runs start from the "
            f"same weights and draw the same batches. Run on {sound_threads} thread(s)"
            + (" because the machine was busy." if sound_threads != run.threads else "."), "",
            table(["precision", "steps/s", f"mean loss_d (last {tail})", f"mean loss_g (last {tail})",
                   "mean D(real)", "mean D(fake)", "augment", "classes"],
                  [[p, f"{d['steps_per_s']:.2f}", f"{d['loss_d']:.3f}", f"{d['loss_g']:.3f}",
                    f"{d.get('d_real', NAN):.3f}", f"{d.get('d_fake', NAN):.3f}",
                    ("on" if d["augment"] else "off") + (f" (mean p {d['aug_p']:.2f})" if "aug_p" in d else ""),
                    f"{d['classes']:.0f}"] for p, d in sound.items()]), ""]


def text_part(run: Run, sound_threads: int) -> list[str]:
    steps = 10 if run.quick else 200
    tail = max(1, steps // 4)
    torch.set_num_threads(sound_threads)
    tsound = more_cases.text_soundness(steps, tail, precisions=("fp32", "bf16") if bf16_lstm() else ("fp32",))
    torch.set_num_threads(run.threads)
    print("text bf16 soundness: " + "; ".join(f"{p}: train {d['train_loss']:.4f}, val {d.get('val_loss', NAN):.4f}"
                                              for p, d in tsound.items()) + f" {run.stamp()}", flush=True)
    sizes = more_cases.SOUND_TEXT
    return [f"## bf16 soundness: the default text model on builtin:shakespeare, {steps} steps from seed 0", "",
            f"2 x 256 LSTM, batch {sizes['batch']} x {sizes['bptt']} characters, dropout off (so both runs compute the "
            "same thing); same weights and batches in both; nats per character.", "",
            table(["precision", f"mean training loss (last {tail} steps)", "validation loss at the end"],
                  [[p, f"{d['train_loss']:.4f}", f"{d.get('val_loss', NAN):.4f}"] for p, d in tsound.items()]), ""]


def section(run: Run) -> list[str]:
    sound_threads = quiet_threads(run.threads)
    return gan_part(run, sound_threads) + text_part(run, sound_threads)
