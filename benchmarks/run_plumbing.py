"""benchmarks/run.py --plumbing: every section at tiny shapes, to check in seconds that the whole run works and
writes its report. The figures mean nothing. The shapes are the modules' own constants, set smaller here."""

from __future__ import annotations

import bench_vae
import gan_cases
import more_cases
import run_kernels
import run_peaks
import run_sampling
import run_soundness

TINY = {
    run_peaks: {"MM_SIZES": {False: (64, 128), True: (64, 128)}, "CONV": (2, 16, 8)},
    run_kernels: {"BATCH": 4},
    gan_cases: {"BATCH": 8, "N_IMAGES": 64,
                "ARCHS": {"mlp": gan_cases.Arch(1, 28, 16, conv=False), "dcgan": gan_cases.Arch(3, 8, 16, conv=True)}},
    bench_vae: {"SIZE": 8, "BATCH": 8, "N_IMAGES": 64},
    more_cases: {"TEXT": {"hidden": 32, "layers": 2, "embed": 16, "batch": 4, "bptt": 16}, "TEXT_CHARS": 20_000,
                 "SOUND_TEXT": {"batch": 4, "bptt": 16, "hidden": 32, "embed": 16}},
    run_soundness: {"SIZE": 8},
    run_sampling: {"HIDDEN": (16, 32), "SHAPES": ((1, 20), (4, 10))},
}


def shrink() -> None:
    """Set every shape in TINY (each must exist: a renamed constant fails here, not silently)."""
    for module, names in TINY.items():
        for name, value in names.items():
            if not hasattr(module, name):
                raise AttributeError(f"benchmarks/run_plumbing.py: {module.__name__} has no {name} any more")
            setattr(module, name, value)
