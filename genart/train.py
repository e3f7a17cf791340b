"""The one training loop, for every kind.

It owns the budget (--steps / --minutes), checkpoints (atomic, at least every --save-every seconds),
resume (weights, optimizer, EMA, step, RNG), logging (metrics.jsonl, loss plot), previews, and the
NaN guard. A kind only supplies a Trainable (see genart.core.trainable).
"""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from genart.core import distributed
from genart.core.checkpoints import LAST, flatten_state, save_checkpoint
from genart.core.config import DEFAULT_MINUTES, TrainConfig
from genart.core.device import pick_device, resolve_precision, set_threads
from genart.core.errors import ConfigError, RunError, TrainingDiverged
from genart.core.files import FULL, WriteError, disk_full, write_failure, write_json
from genart.core.registry import get_kind
from genart.core.rundir import DATA, RunDir, prepare_run
from genart.core.trainable import compile_failure
from genart.core.version import __version__


def print_report(console: Console, report: dict[str, Any], limit: int = 20) -> None:
    """The ingest report on screen: counts, then every skipped file and why (the first `limit`)."""
    console.print(f"[bold]data[/] {report.get('source')}: {report['files']} files, {report['used']} used, "
                  f"{report['skipped']} skipped")
    if report.get("summary"):
        console.print(f"  {report['summary']}", highlight=False)
    skipped = report.get("skipped_files", [])
    for s in skipped[:limit]:
        console.print(f"  [yellow]skipped[/] {s['file']}: {s['reason']}", highlight=False)
    if len(skipped) > limit:
        console.print(f"  ... and {len(skipped) - limit} more (all listed in data.json)")
    for w in report.get("warnings") or []:  # any kind's report may carry warnings: one line each
        console.print(f"[yellow]warning[/]: {w}", highlight=False, soft_wrap=True)


class Trainer:
    """Runs one kind's Trainable inside the shared loop. Use `train()` for the common case."""

    def __init__(self, cfg: TrainConfig, out: str | Path, fresh: bool = False,
                 console: Console | None = None) -> None:
        cfg.validate()
        self.cfg = cfg
        self.spec = get_kind(cfg.kind)
        trainable_cls = self.spec.trainable_class()
        self.threads = set_threads(cfg.threads)
        self.device = pick_device(cfg.device)
        if distributed.launched():
            if not trainable_cls.supports_ddp:
                raise ConfigError(f"data-parallel training (torchrun) is not available for {cfg.kind} runs yet",
                                  "train it in one process: genart train ...")
            self.device = distributed.init(self.device)
        self.rank, self.world = distributed.rank(), distributed.world()
        self.main = self.rank == 0  # only rank 0 writes the run directory and prints
        self.console = (console or Console(stderr=True)) if self.main else Console(stderr=True, quiet=True)
        resuming = False
        if self.main:
            self.run, resuming = prepare_run(out, cfg, fresh)
        # rank 0 has checked (or cleared, with --fresh) the run; the others take its word rather than look again
        # (a look while rank 0 writes the run's first files would see a half-made folder)
        self.resuming = distributed.any_rank(resuming)
        if not self.main:
            self.run = RunDir.open(out) if self.resuming else RunDir(path=Path(out), config=cfg)
            self.run.config = cfg  # budget options (steps, minutes, ...) come from this call
        self.precision = resolve_precision(cfg.precision, self.device, trainable_cls.bf16_helps)
        self.data = self.spec.load_data(cfg, self.run.resolved if self.resuming else {})
        report = getattr(self.data, "report", {})
        self.run.resolved = {**self.spec.resolve_data(self.data), "precision": self.precision}
        if self.main:
            self.run.remove_stale_temporaries()  # a killed run's half-written checkpoint, say
            print_report(self.console, report)
            write_json(self.run.path / DATA, report)  # the run folder appears only once its data is usable
            self.run.save_config()

        torch.manual_seed(cfg.seed)  # every rank builds the same initial networks
        self.generator = torch.Generator().manual_seed(cfg.seed + 1 + 1000 * self.rank)
        self.model = trainable_cls(cfg, self.data, self.device, self.precision, self.generator)
        if self.rank:  # each rank draws its own noise and batches; rank 0 reproduces a single-process run
            torch.manual_seed(cfg.seed + 1000 * self.rank)
        self.step = 0
        self.elapsed = 0.0  # training seconds over all sessions of this run
        self.best: dict[str, Any] = {}
        if self.resuming:
            self._load()
            if not self.main:  # only rank 0's random state is saved; the others derive theirs from the step
                torch.manual_seed(cfg.seed + 1000 * self.rank + 7919 * self.step)
                self.generator.manual_seed(cfg.seed + 1 + 1000 * self.rank + 7919 * self.step)
        if self.world > 1 and not distributed.agree(self.step):
            raise RunError(f"the processes disagree on where {out} stands (this one: step {self.step}): some cannot "
                           "read the run's checkpoint", "put --out on storage that every node can read")
        if self.main:
            self.run.truncate_metrics(self.step)  # rows logged after the checkpoint will be logged again
        if self.resuming:
            self.console.print(f"resuming from step {self.step} ({self.elapsed / 60:.1f} min trained so far)")
        if self.world > 1:
            self.console.print(f"data-parallel: {self.world} processes, batch {cfg.batch} per process "
                               f"({cfg.batch * self.world} per step in all)")
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0
        self._interrupted = False

    # --- checkpoints --------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state(), "data": self.generator.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {"model": self.model.state(), "rng": rng}

    def _info(self) -> dict[str, Any]:
        return {"step": self.step, "elapsed": self.elapsed, "best": self.best, "genart_version": __version__,
                "kind": self.cfg.kind, "precision": self.precision}

    def save(self, also: str | None = None) -> None:
        if not self.main:
            return
        state, info = self._state(), self._info()
        _check_finite(state["model"])
        save_checkpoint(self.run.last_checkpoint, state, info, keep_previous=True)
        if also:
            save_checkpoint(self.run.checkpoints / also, state, info)

    def _load(self) -> None:
        """Resume from the last checkpoint, or (when it is unreadable) the newest readable one, with a warning."""
        warn = (lambda m: self.console.print(f"[yellow]warning[/]: {m}", highlight=False, soft_wrap=True)) \
            if self.main else None
        state, info, path = self.run.load_checkpoint("last", warn=warn)
        try:
            self.model.load_state(state["model"])
        except (RuntimeError, KeyError, ValueError, TypeError) as e:  # a checkpoint copied in from another run
            raise RunError(f"{path} does not fit this run's networks ({str(e).splitlines()[0][:200]})",
                           "restore this run's own checkpoints, or retrain with --fresh") from None
        torch.set_rng_state(state["rng"]["torch"])
        self.generator.set_state(state["rng"]["data"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.step, self.elapsed, self.best = int(info["step"]), float(info["elapsed"]), info.get("best", {})

    # --- logging ------------------------------------------------------------------------------------

    def _accumulate(self, losses: dict[str, torch.Tensor]) -> None:
        for k, v in losses.items():
            v = v.detach().float()
            self._sums[k] = self._sums[k] + v if k in self._sums else v
        self._count += 1

    def _flush(self, rate: float) -> dict[str, float]:
        """Sync the accumulated losses to the host (once per log interval), check them, log them."""
        if not self._count:
            return {}
        values = {k: float(v) / self._count for k, v in self._sums.items()}
        self._sums, self._count = {}, 0
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise TrainingDiverged(
                f"training diverged at step {self.step}: {', '.join(bad)} became NaN or infinite; "
                f"the last good checkpoint is kept",
                "lower the learning rates (--lr-g/--lr-d), try --precision fp32, or resume from the checkpoint")
        row = {"step": self.step, **{k: round(v, 6) for k, v in values.items()}, **self.model.logged_figures(),
               "steps_per_s": round(rate, 3), "elapsed_s": round(self.elapsed, 2)}
        if self.main:
            self.run.append_metrics([row])
        return values

    # --- the loop -----------------------------------------------------------------------------------

    def fit(self) -> RunDir:
        cfg = self.cfg
        minutes = cfg.minutes if cfg.minutes is not None else (None if cfg.steps else DEFAULT_MINUTES)
        max_steps = cfg.steps if cfg.steps is not None else 2**62
        limit_s = minutes * 60 if minutes is not None else math.inf
        if self.step >= max_steps or self.elapsed >= limit_s:
            self.console.print(f"already trained to step {self.step}; raise --steps or --minutes to train more")
            return self.run
        spent = self.model.budget_spent()  # a privacy budget already spent: no step may be taken
        if spent:
            self.console.print(f"{spent}; nothing left to train", highlight=False)
            return self.run
        compiled = ", compiled" if cfg.compile else ""
        self.console.print(f"training {cfg.kind} on {self.device.type} ({self.precision}{compiled}, {self.threads} threads), "
                           f"budget: {f'{max_steps} steps' if cfg.steps else ''}"
                           f"{' and ' if cfg.steps and minutes else ''}{f'{minutes:g} min' if minutes else ''}")
        old_handler = signal.signal(signal.SIGINT, self._on_sigint) if _main_thread() else None
        last_save = time.monotonic()
        last_log_t, last_log_step = time.monotonic(), self.step
        values: dict[str, float] = {}
        progress = _progress(self.console)
        by_steps = cfg.steps is not None
        task = progress.add_task("train", total=max_steps if by_steps else limit_s,
                                 completed=self.step if by_steps else self.elapsed, losses="")
        done, spent = False, None
        try:
            with progress:
                t_prev = time.monotonic()
                while self.step < max_steps and not done:
                    losses = self.model.train_step(self.step)
                    self.step += 1
                    now = time.monotonic()
                    self.elapsed += now - t_prev
                    t_prev = now
                    self._accumulate(losses)
                    if self.world > 1:  # all ranks must stop at the same step: agree at each log interval
                        done = self.step >= max_steps or (self.step % cfg.log_every == 0 and distributed.any_rank(
                            self.elapsed >= limit_s or self._interrupted))
                    else:
                        done = self.step >= max_steps or self.elapsed >= limit_s or self._interrupted
                    spent = self.model.budget_spent()  # the kind's own budget (privacy), the same on every rank
                    done = done or spent is not None
                    if self.step % cfg.log_every == 0 or done:
                        rate = (self.step - last_log_step) / max(1e-9, now - last_log_t)
                        last_log_t, last_log_step = now, self.step
                        values = self._flush(rate)
                        progress.update(task, completed=self.step if by_steps else self.elapsed,
                                        losses=_fmt(values) + f"  {rate:.1f} steps/s  step {self.step}")
                    if self.main and ((cfg.sample_every and self.step % cfg.sample_every == 0) or done):
                        self._preview(values, quiet=self.console.is_terminal)
                    keep = bool(cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0)
                    if now - last_save >= cfg.save_every or keep or done:
                        self._flush(rate=0.0) if self._count else None
                        self.save(also=f"step-{self.step:07d}.safetensors" if keep else None)
                        last_save = time.monotonic()
                        t_prev = last_save  # time spent saving is not training time
            if spent:
                self.console.print(spent, highlight=False)
            if self._interrupted:
                self._flush(0.0)
                self.save()
                self.console.print(f"interrupted: saved step {self.step}; run the same command to resume")
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
        if self.world > 1:
            same = distributed.replicas_identical(self.model.replicated())
            self.console.print(f"data-parallel: replicas {'identical' if same else 'DIFFER'} after step {self.step}")
        if self.main:
            self._finish(values)
        return self.run

    def _preview(self, values: dict[str, float], quiet: bool) -> None:
        try:
            self.run.samples.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise write_failure(e, self.run.samples / f"step-{self.step:07d}") from e
        self.model.preview(self.run.samples / f"step-{self.step:07d}")
        figures = self.model.evaluate()
        if figures:
            row = {"step": self.step, **{f"eval_{k}": round(v, 6) for k, v in figures.items()}}
            self.run.append_metrics([row])
            val = figures.get("val_loss")
            if val is not None and (not self.best or val < self.best["val_loss"]):
                self.best = {"val_loss": val, "step": self.step}
                self.save(also="best.safetensors")
        from genart.io.plots import plot_metrics

        plot_metrics(self.run.metrics(), self.run.path / "metrics.png", title=self.run.name)
        if not quiet:
            self.console.print(f"step {self.step}  {_fmt(values)}", highlight=False)

    def _finish(self, values: dict[str, float]) -> None:
        from genart.card import write_model_card

        # metrics.png was drawn by the preview at the last step, after the last row was logged
        write_model_card(self.run, evaluation={f"best {k}": v for k, v in self.best.items()} or None)
        self.console.print(f"[green]done[/]: step {self.step}, {self.elapsed / 60:.1f} min; run saved in {self.run.path}")

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._interrupted:  # second Ctrl-C: stop now
            raise KeyboardInterrupt
        self._interrupted = True


def train(cfg: TrainConfig, out: str | Path, fresh: bool = False, console: Console | None = None) -> RunDir:
    """Train (or resume) the run at `out` with `cfg`; returns the run directory."""
    try:
        run = Trainer(cfg, out, fresh=fresh, console=console).fit()
        # every rank waits for rank 0's last writes, so that none tears down its process group (and gloo's threads)
        # while another still runs: a rank leaving early aborted now and then ("terminate called without an active
        # exception", SIGABRT) and failed the whole torchrun
        distributed.barrier()
        return run
    except Exception as e:
        failure = _explained(e, cfg, Path(out))
        if failure is not None:
            raise failure from e
        raise
    finally:
        distributed.finish()


def _explained(e: Exception, cfg: TrainConfig, out: Path) -> Exception | None:
    """The one-line error for a failure that needs more said than it says itself, or None."""
    checkpoint = _file_size(out / "checkpoints" / LAST)
    if isinstance(e, WriteError):
        # a full disk: say how much the run needs to go on, the next checkpoint included, not just the failed file
        if e.full and e.path is not None and checkpoint and e.path.parent.name != "checkpoints":
            return disk_full(e.path, e.needed, run_needs=checkpoint + (e.needed or 0))
        return None
    if isinstance(e, OSError) and e.errno in FULL:  # a writer that does not go through genart.core.files
        where = Path(e.filename) if isinstance(e.filename, str) else out / "a file"
        return disk_full(where, None, run_needs=checkpoint or None)
    return compile_failure(e) if cfg.compile else None  # torch.compile fails at the first step, not before


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _check_finite(state: dict[str, Any]) -> None:

    tensors, _ = flatten_state(state)
    bad = [k for k, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise TrainingDiverged(f"training diverged: {bad[0]} became NaN or infinite; the last good checkpoint is kept",
                               "lower the learning rates or try --precision fp32")


def _fmt(values: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3f}" for k, v in values.items())


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeRemainingColumn(), TextColumn("{task.fields[losses]}"), console=console,
                    transient=False, disable=not console.is_terminal)


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()
