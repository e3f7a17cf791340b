"""Run `genart` commands in forked children that stop themselves (SIGSTOP) at a chosen moment, so that a test can
kill each one there with SIGKILL: deterministic kills, without timing guesses.

    python kill_helper.py JOBS.json

JOBS.json: a list of {"name", "point", "n", "args", "log"}. Each job is a child process running genart's CLI on
`args` (stdout and stderr to `log`) that stops at the n-th time it reaches `point`:

    config   just after config.json is written (start-up: no checkpoint yet)
    step     between the discriminator's and the generator's optimizer steps (mid-step)
    write    half-way through writing a checkpoint (the temporary file holds half of it)
    rotate   a checkpoint fully written, `last` kept as `previous`, the new file not yet renamed to `last`
    append   half-way through appending a line to metrics.jsonl

This process imports genart once and forks the children (a start-up each would cost seconds). It prints one line
per event on stdout: "stopped NAME PID" when a child has stopped (kill it then), "ended NAME STATUS" when a child is
gone (STATUS: -SIGNAL, or the exit code when it ended without reaching its point), and exits once all have ended.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from torch.optim.optimizer import register_optimizer_step_post_hook

import genart.cli
import genart.core.checkpoints as checkpoints
import genart.core.rundir as rundir
import genart.kinds.gan.model  # noqa: F401 - imported once here, not in every child
import genart.train  # noqa: F401


def warm_up() -> None:
    """What every child would otherwise import for itself: the digits loader (scikit-learn), torch's optimizers."""
    import sklearn.datasets  # noqa: F401
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def stop() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSTOP)
    os._exit(99)  # never resumed: the test kills us; if it sends SIGCONT instead, end without writing more


def install(point: str, n: int) -> None:
    """Patch the child so that it stops the n-th time it reaches `point`."""
    count = {"hits": 0}

    def hit() -> bool:
        count["hits"] += 1
        return count["hits"] == n

    if point == "config":
        save_config = rundir.RunDir.save_config

        def config_then_stop(self: Any) -> None:
            save_config(self)
            if hit():
                stop()

        rundir.RunDir.save_config = config_then_stop  # type: ignore[method-assign]
    elif point == "step":
        def after_optimizer_step(opt: Any, args: Any, kwargs: Any) -> None:
            if hit():
                stop()

        register_optimizer_step_post_hook(after_optimizer_step)
    elif point == "write":
        save_file = checkpoints.save_file

        def half_then_stop(tensors: Any, filename: str, metadata: Any = None) -> None:
            save_file(tensors, filename, metadata=metadata)
            if hit():
                os.truncate(filename, os.path.getsize(filename) // 2)
                stop()

        checkpoints.save_file = half_then_stop
    elif point == "rotate":
        keep_previous = checkpoints._keep_previous

        def rotate_then_stop(path: Path) -> None:
            keep_previous(path)
            if hit():
                stop()

        checkpoints._keep_previous = rotate_then_stop
    elif point == "append":
        append_text = rundir.append_text

        def half_line_then_stop(path: Path, text: str) -> None:
            if hit():
                with open(path, "a", encoding="utf-8") as f:
                    f.write(text[: len(text) // 2])
                stop()
            append_text(path, text)

        rundir.append_text = half_line_then_stop
    else:
        raise SystemExit(f"unknown point {point!r}")


def child(job: dict[str, Any]) -> None:
    fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    install(job["point"], int(job["n"]))
    sys.argv = ["genart", *job["args"]]
    code = 0
    try:
        genart.cli.main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    jobs = json.loads(Path(sys.argv[1]).read_text())
    warm_up()
    names = {}
    for job in jobs:
        pid = os.fork()
        if pid == 0:
            child(job)
        names[pid] = job["name"]
    while names:
        pid, status = os.waitpid(-1, os.WUNTRACED)
        if os.WIFSTOPPED(status):
            print(f"stopped {names[pid]} {pid}", flush=True)
        elif pid in names:
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(f"ended {names.pop(pid)} {code}", flush=True)


if __name__ == "__main__":
    main()
