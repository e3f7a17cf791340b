"""The plumbing the studio's evolution sessions share (images, text, music): check a session's name and open its run,
load a session or answer a clean 404, and start or breed one under the run's lock, then save it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from genart.studio.errors import StudioError

START_HINT = "start it with POST .../start"


def open_session_run(runs: Any, name: str, session: str, needs: tuple[Any, ...]) -> tuple[Any, Any]:
    """The run `name` (with what it needs) and its lock, after checking the session's name."""
    from genart.evolve import check_session_name

    check_session_name(session)
    return runs.model(name, *needs)


def load_session(cls: Any, model: Any, session: str, hint: str = START_HINT) -> Any:
    """Session `session` of the run (`cls`: Session or TextSession), or a 404 saying how to start it."""
    if not cls.exists(model.run.path, session):
        raise StudioError(404, f"no session {session!r}", hint)
    return cls.load(model.run.path, session)


def saved_session(model: Any, lock: Any, make: Callable[[], Any], change: Callable[[Any], Any] | None = None) -> Any:
    """Under the run's lock: make (start or load) a session, change it (breed), and save it in the run."""
    with lock:
        s = make()
        if change is not None:
            change(s)
        s.save(model.run.path)
    return s
