"""The studio in a real headless browser (Debian's chromium driven by Playwright): open a run, move a slider, like
two images, evolve, and see the next generation appear; open a text run and get its text panel (the page picks
panels by the run's capabilities). A screenshot is kept in test-artifacts/studio.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import studio_runs
from studio_browser import browser, grid_loaded, open_page, screenshot, studio_over  # noqa: F401 - browser is a fixture


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The studio over a folder with one tiny conditional GAN and one tiny text run, served by uvicorn in a thread on
    a free port."""
    yield from studio_over(tmp_path_factory, "browser", studio_runs)  # a digits GAN run and a tiny text run


def test_open_slide_like_evolve_in_a_real_browser(studio_url: str, browser) -> None:  # noqa: F811
    page, errors = open_page(browser, studio_url)
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

    screenshot(page, "studio.png")


def test_a_text_run_gets_the_text_panel(studio_url: str, browser) -> None:  # noqa: F811
    """The page picks its panel from the run's capabilities (SEQUENCE + TEXT): the text panel, no image controls."""
    page, errors = open_page(browser, studio_url)
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
