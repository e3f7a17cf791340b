"""The studio in a real headless browser (Debian's chromium driven by Playwright): open a run, move a slider, like
two images, evolve, and see the next generation appear; open a text run and get its text panel (the page picks
panels by the run's capabilities). A screenshot is kept in test-artifacts/studio.png."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, studio_runs

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The studio over a folder with one tiny conditional GAN and one tiny text run, served by uvicorn in a thread on
    a free port."""
    import uvicorn

    from genart.studio.app import create_app

    root = tmp_path_factory.mktemp("browser") / "runs"
    root.mkdir()
    studio_runs(root)  # a digits GAN run and a tiny text run
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until the server runs: no need to poll for start-up
    server = uvicorn.Server(uvicorn.Config(create_app(root, device="cpu"), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server.should_exit = True
    thread.join(timeout=30)


def grid_loaded(page) -> None:
    page.wait_for_function("() => { const g = document.getElementById('grid');"
                           " return g.dataset.count > 0 && g.dataset.loaded === g.dataset.count; }", timeout=60_000)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    """A persistent chromium context (skipped without /usr/bin/chromium or playwright)."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=str(CHROMIUM),
                                                   headless=True, args=ARGS, viewport={"width": 1200, "height": 900})
        try:
            yield ctx
        finally:
            ctx.close()


def test_open_slide_like_evolve_in_a_real_browser(studio_url: str, browser) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(studio_url)
    page.click("#runs button[data-run='digits']")
    grid_loaded(page)
    assert page.locator("#grid .cell").count() == 12
    assert page.locator("input.direction").count() == 8

    page.fill("#seed", "40")  # move the seed slider: the grid is remade from seed 40
    page.wait_for_function("() => document.querySelector('#grid .cell img')?.alt === 'seed 40'", timeout=60_000)
    grid_loaded(page)
    page.fill("#dir-0", "2.5")  # and a direction slider
    page.wait_for_function("() => document.querySelector('#grid .cell img')?.src.includes('edits=0%3A2.5')",
                           timeout=60_000)
    grid_loaded(page)
    assert page.evaluate("() => [...document.querySelectorAll('#grid img')].every(i => i.naturalWidth > 0)")

    page.click(".cell[data-index='2'] button.like")
    page.click(".cell[data-index='7'] button.like")
    page.click(".cell[data-index='0'] button.dislike")
    assert page.locator(".cell.liked").count() == 2
    page.click("#evolve")
    page.wait_for_function("() => document.getElementById('generation').textContent.includes('generation 1')",
                           timeout=60_000)
    grid_loaded(page)
    captions = page.locator("#grid figcaption span").all_inner_texts()
    assert captions[0].endswith("kept 2") and captions[1].endswith("kept 7"), captions
    assert any("child of" in c for c in captions) and page.locator(".cell.liked").count() == 0
    assert page.evaluate("() => [...document.querySelectorAll('#grid img')].every(i => i.naturalWidth > 0)")
    assert page.locator("#error").is_hidden() and not errors, errors

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "studio.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000


def test_a_text_run_gets_the_text_panel(studio_url: str, browser) -> None:
    """The page picks its panel from the run's capabilities (SEQUENCE + TEXT): the text panel, no image controls."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(studio_url)
    page.click("#runs button[data-run='words']")
    page.wait_for_selector("#text-page:not([hidden])", timeout=60_000)
    assert page.locator("#image-page").is_hidden() and page.locator("#music-page").is_hidden()
    page.fill("#prime", "the ")
    page.fill("#length", "12")
    page.fill("#text-n", "2")
    page.click("#write")
    page.wait_for_function("() => document.querySelectorAll('#texts pre').length === 2", timeout=60_000)
    assert all(t.startswith("the ") for t in page.locator("#texts pre").all_inner_texts())
    assert page.locator("#error").is_hidden() and not errors, errors
