"""What the studio's browser tests share: Debian's chromium driven by Playwright (skipped when either is missing), the
studio served by uvicorn in a thread on a free port, a page that records its script errors, and screenshots kept in
test-artifacts/. Test files import the `browser` fixture from here."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def need_chromium():
    """Playwright's sync API, or skip the test when /usr/bin/chromium or playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium; .ci/run installs it)")
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")


@contextmanager
def serve_studio(root: Path) -> Iterator[str]:
    """The studio over the runs in `root`, served by uvicorn in a thread on a free port, as its URL."""
    import uvicorn

    from genart.studio.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until the server runs: no need to poll for start-up
    server = uvicorn.Server(uvicorn.Config(create_app(root, device="cpu"), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def studio_over(tmp_path_factory: pytest.TempPathFactory, folder: str, fill: Callable[[Path], object]) -> Iterator[str]:
    """For a module's `studio_url` fixture: a fresh FOLDER/runs that fill(root) puts runs in, served (serve_studio)."""
    root = tmp_path_factory.mktemp(folder) / "runs"
    root.mkdir()
    fill(root)
    with serve_studio(root) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    """A persistent chromium context (skipped without /usr/bin/chromium or playwright)."""
    sync_api = need_chromium()
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=str(CHROMIUM),
                                                   headless=True, args=ARGS, viewport={"width": 1200, "height": 900})
        try:
            yield ctx
        finally:
            ctx.close()


def open_page(browser, url: str) -> tuple:
    """A new page at `url`, and the list its uncaught script errors go to."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


def grid_loaded(page) -> None:
    page.wait_for_function("() => { const g = document.getElementById('grid');"
                           " return g.dataset.count > 0 && g.dataset.loaded === g.dataset.count; }", timeout=60_000)


def screenshot(page, name: str, check: bool = True) -> Path:
    """A full-page screenshot kept as test-artifacts/NAME (checked to be more than an empty file unless told not)."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    page.screenshot(path=str(shot), full_page=True)
    if check:
        assert shot.stat().st_size > 1000
    return shot
