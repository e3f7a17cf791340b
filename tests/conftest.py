"""Shared fixtures: one torch thread per test, a messy image folder, tiny trained runs, and a CLI runner."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# Two xdist workers share two cores: one thread each, here and in every subprocess we start.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
# Outputs are signed (C2PA): tests sign with a throwaway local key made up front (so no test sees the one-time
# "made a local signing key" line), never with the key in the user's own config folder.
if "GENART_TEST_HOME" not in os.environ:  # xdist workers inherit the controller's
    import tempfile

    os.environ["GENART_TEST_HOME"] = tempfile.mkdtemp(prefix="genart-test-home-")
os.environ["GENART_HOME"] = os.environ["GENART_TEST_HOME"]
os.environ["GENART_SOUNDFONT"] = "none"  # the built-in synthesiser unless a test asks for FluidSynth
for _name in ("GENART_SIGN", "GENART_SIGNING_KEY", "GENART_SIGNING_CERTS"):
    os.environ.pop(_name, None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from rich.console import Console  # noqa: E402

torch.set_num_threads(1)

from genart.io.keys import keys_init  # noqa: E402

keys_init()

REPO = Path(__file__).resolve().parents[1]

# The smallest sensible GAN: 8x8 digits, a narrow dcgan, small batches, no previews unless asked.
TINY = ["--size", "8", "--width", "8", "--batch", "16", "--log-every", "5", "--device", "cpu"]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg", NO_COLOR="1", COLUMNS="200",
               PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
    env.pop("FORCE_COLOR", None)
    return env


def run_cli(*args: str | Path, cwd: Path | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """Run `python -m genart ARGS` in a subprocess; returns (returncode, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "genart", *map(str, args)], capture_output=True, text=True,
                          env=subprocess_env(), cwd=cwd, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def popen_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "genart", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=subprocess_env(), cwd=cwd)


@pytest.fixture
def cli() -> Callable[..., tuple[int, str, str]]:
    """`cli("train", "gan", ...)` -> (rc, stdout, stderr), running the real CLI in a subprocess."""
    return run_cli


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A path for a new run directory (not yet created)."""
    return tmp_path / "run"


def quiet_console() -> Console:
    return Console(file=io.StringIO(), width=200)


def main_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str | Path) -> tuple[int, str, str]:
    """genart's real main() in this process (parsing, errors as one line and exit 2): (exit code, stdout, stderr)."""
    from genart.cli import main

    monkeypatch.setattr(sys, "argv", ["genart", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def music_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted chorales go to a cache of the module's own (and subprocesses inherit it); a module asks for it with
    `pytestmark = pytest.mark.usefixtures("music_cache")`."""
    path = tmp_path_factory.mktemp("genart-cache")
    old = os.environ.get("GENART_CACHE")
    os.environ["GENART_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("GENART_CACHE", None)
    else:
        os.environ["GENART_CACHE"] = old


def train_tiny(out: Path, **options) -> Path:
    """Train a tiny GAN in this process (no subprocess start-up cost) and return its run directory."""
    from genart.kinds.gan.config import GANConfig
    from genart.train import train

    defaults = dict(data="builtin:digits", size=8, width=8, batch=16, steps=20, log_every=5, sample_every=0,
                    device="cpu", labels="auto", seed=0)
    defaults.update(options)
    cfg = GANConfig(**defaults)
    train(cfg, out, console=quiet_console())
    return out


def train_tiny_diffusion(out: Path, **options) -> Path:
    """Train a tiny diffusion run (16x16, width 8, 2 sampling steps) in this process; a few seconds."""
    from genart.kinds.diffusion.config import DiffusionConfig
    from genart.train import train

    defaults = dict(data="builtin:digits", size=16, width=8, batch=16, sample_steps=2, steps=20, log_every=10,
                    sample_every=0, device="cpu", labels="auto", seed=0)
    defaults.update(options)
    train(DiffusionConfig(**defaults), out, console=quiet_console())
    return out


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp folder shared by all xdist workers of this pytest session (the parent of each worker's basetemp)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], dict]) -> tuple[Path, dict]:
    """Build `name` once per session across xdist workers (a file lock guards it); returns (path, build's result)."""
    import fcntl
    import json

    root = shared_dir(tmp_path_factory)
    path, done = root / name, root / f"{name}.done.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            done.write_text(json.dumps(build(path)))
    return path, json.loads(done.read_text())


@pytest.fixture(scope="session")
def cli_digits_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A conditional dcgan on builtin:digits, trained 20 steps by the real CLI; (run, {rc, stdout, stderr})."""

    def build(path: Path) -> dict:
        rc, out, err = run_cli("train", "gan", "--data", "builtin:digits", "--out", path, "--steps", "20",
                               "--sample-every", "10", *TINY)
        return {"rc": rc, "stdout": out, "stderr": err}

    return build_once(tmp_path_factory, "cli-digits", build)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A conditional dcgan trained 20 steps on builtin:digits at 8x8 (shared by a module's tests)."""
    return train_tiny(tmp_path_factory.mktemp("digits") / "digits")


@pytest.fixture(scope="module")
def uncond_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An unconditional (--labels none) mlp trained 10 steps on builtin:digits at 8x8."""
    return train_tiny(tmp_path_factory.mktemp("uncond") / "uncond", labels="none", arch="mlp", steps=10)


# --- image files ------------------------------------------------------------------------------------

def noise_rgb(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), mode="RGB")


def grey_image(w: int = 24, h: int = 24) -> Image.Image:
    return Image.fromarray(np.tile(np.linspace(0, 255, w, dtype=np.uint8), (h, 1)), mode="L")


def rgba_transparent(w: int = 24, h: int = 24) -> Image.Image:
    a = np.zeros((h, w, 4), dtype=np.uint8)
    a[..., 0], a[..., 2], a[..., 3] = 200, 50, 255
    a[: h // 2, :, 3] = 0  # top half fully transparent
    return Image.fromarray(a, mode="RGBA")


def palette_image(transparent: bool) -> Image.Image:
    img = noise_rgb(20, 20, seed=3).quantize(colors=8)
    if transparent:
        img.info["transparency"] = int(np.asarray(img)[0, 0])  # the colour of pixel (0, 0) is see-through
    return img


def sixteen_bit(w: int = 20, h: int = 20) -> Image.Image:
    a = np.tile(np.linspace(0, 65535, w).astype(np.uint16), (h, 1))
    return Image.fromarray(a)  # uint16 -> mode I;16


def exif_rotated_jpeg(path: Path, w: int = 40, h: int = 20) -> None:
    """A w x h JPEG whose EXIF says 'rotate 90 degrees clockwise to display' (orientation 6)."""
    img = Image.new("RGB", (w, h), (30, 120, 220))
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(path, format="JPEG", exif=exif.tobytes(), quality=95)


def animated_gif(path: Path) -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)


def truncated_png(path: Path) -> None:
    buf = io.BytesIO()
    noise_rgb(64, 64, seed=9).save(buf, format="PNG")
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 2])


def build_messy_folder(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    """A folder with every kind of file a user's image folder really holds; returns (folder, expected).

    expected: 'used' (relative names that must decode), 'skipped' (names that must be reported), 'hidden'."""
    root = tmp_path / "messy"
    root.mkdir()
    (root / "sub").mkdir()
    (root / ".cache").mkdir()
    outside = tmp_path / "outside.png"
    noise_rgb(16, 16, seed=1).save(outside)

    grey_image().save(root / "grey.png")
    rgba_transparent().save(root / "rgba.png")
    palette_image(False).save(root / "palette.png")
    palette_image(True).save(root / "palette_transparent.png")
    sixteen_bit().save(root / "deep16.png")
    Image.new("CMYK", (20, 20), (0, 200, 100, 10)).save(root / "cmyk.jpg", quality=95)
    exif_rotated_jpeg(root / "rotated.jpg")
    noise_rgb(48, 16, seed=2).save(root / "wide.png")
    animated_gif(root / "anim.gif")
    noise_rgb(16, 16, seed=4).save(root / "pic.webp")
    noise_rgb(16, 16, seed=5).save(root / "pic.bmp")
    noise_rgb(16, 16, seed=6).save(root / "pic.tiff")
    noise_rgb(16, 16, seed=7).save(root / "UPPER.PNG", format="PNG")
    noise_rgb(16, 16, seed=8).save(root / "UPPER2.JPG", format="JPEG")
    noise_rgb(16, 16, seed=10).save(root / "sub" / "nested.png")
    noise_rgb(16, 16, seed=11).save(root / ".hidden.png")
    noise_rgb(16, 16, seed=12).save(root / ".cache" / "cached.png")
    truncated_png(root / "truncated.png")
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("this is not a picture\n")
    (root / "notes.txt").write_text("a note\n")
    (root / "link.png").symlink_to(outside)

    used = ["grey.png", "rgba.png", "palette.png", "palette_transparent.png", "deep16.png", "cmyk.jpg", "rotated.jpg",
            "wide.png", "anim.gif", "pic.webp", "pic.bmp", "pic.tiff", "UPPER.PNG", "UPPER2.JPG", "sub/nested.png"]
    skipped = ["truncated.png", "empty.png", "text.png", "notes.txt", "link.png"]
    return root, {"used": used, "skipped": skipped, "hidden": [".hidden.png", ".cache/cached.png"]}


@pytest.fixture
def messy_folder(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    """See build_messy_folder."""
    return build_messy_folder(tmp_path)


def studio_runs(root: Path) -> None:
    """Two runs for the studio's tests: `digits` (a tiny GAN) and `words` (a tiny text model)."""
    from genart.kinds.text.config import TextConfig
    from genart.train import train

    train_tiny(root / "digits")
    corpus = root.parent / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. " * 60, encoding="utf-8")
    train(TextConfig(data=str(corpus), layers=1, hidden=16, embed=8, batch=4, bptt=16, steps=4, warmup=1, log_every=2,
                     sample_every=0, device="cpu", precision="fp32"), root / "words", console=quiet_console())


SCALE = [0, 2, 4, 5, 7, 9, 11]


def melody(seed: int, base: int, step: int, bars: int = 8, leap: int = 2) -> object:
    """A scale-wise random walk from `base`, one note every `step` 16ths, moving up to `leap` degrees a note (a
    symusic Score, one track): tunes for the music VAE's tests, high or low, dense or sparse, narrow or wide."""
    from symusic import Note, Score, Track

    rng = np.random.default_rng(seed)
    score, track, degree = Score(480), Track(program=0), 0
    for k in range(0, bars * 16, step):
        degree = int(np.clip(degree + rng.integers(-leap, leap + 1), -3, 9))
        track.notes.append(Note(k * 120, step * 120, base + 12 * (degree // 7) + SCALE[degree % 7], 80))
    score.tracks.append(track)
    return score
