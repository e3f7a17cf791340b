"""The studio's denoiser controls in a real headless browser (chromium via Playwright, as test_studio_browser): the
page shows the sampling controls for a run with a denoiser (and not for a GAN), a slider re-renders the grid with
its setting, ✎ takes an image into the repaint panel, a brush stroke paints a mask, and "Regenerate masked area" and
"Redraw whole image" bring back images. A screenshot is kept in test-artifacts/studio-repaint.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import train_tiny, train_tiny_diffusion
from studio_browser import browser, grid_loaded, open_page, screenshot, studio_over  # noqa: F401 - browser is a fixture


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The studio over a tiny conditional diffusion run (`dz`) and a tiny GAN (`gan`), served in a thread."""
    def fill(root: Path) -> None:
        train_tiny_diffusion(root / "dz")
        train_tiny(root / "gan", steps=2)

    yield from studio_over(tmp_path_factory, "browser-denoise", fill)


def test_sampling_controls_and_the_repaint_panel(studio_url: str, browser) -> None:  # noqa: F811
    page, errors = open_page(browser, studio_url)
    page.click("#runs button[data-run='dz']")
    grid_loaded(page)
    assert page.input_value("#steps") == "2" and page.input_value("#sampler") == "dpm"  # the run's own settings
    assert page.locator("#guidance").is_visible()  # class-conditional: guidance too
    page.fill("#steps", "3")
    page.wait_for_function("() => document.querySelector('#grid .cell img')?.src.includes('steps=3')", timeout=60_000)
    grid_loaded(page)

    page.click(".cell[data-index='1'] button.repaint")
    page.wait_for_function("() => document.getElementById('source').naturalWidth === 16", timeout=60_000)
    assert page.is_disabled("#regenerate") and page.is_enabled("#redraw")  # nothing painted yet
    page.locator("#mask").scroll_into_view_if_needed()
    box = page.locator("#mask").bounding_box()
    page.mouse.move(box["x"] + 80, box["y"] + 80)
    page.mouse.down()
    page.mouse.move(box["x"] + 180, box["y"] + 150, steps=6)
    page.mouse.up()
    page.click("#regenerate")
    page.wait_for_function("() => document.getElementById('result').naturalWidth === 16", timeout=60_000)
    first = page.get_attribute("#result", "src")
    page.click("#keep")
    page.fill("#strength", "0.3")
    page.click("#redraw")
    page.wait_for_function(f"() => document.getElementById('result').src !== {first!r} && "
                           "document.getElementById('result').naturalWidth === 16", timeout=60_000)
    assert page.locator("#error").is_hidden() and not errors, errors
    screenshot(page, "studio-repaint.png", check=False)

    page.click("#runs button[data-run='gan']")  # no denoiser: no sampling controls, no repaint panel
    page.wait_for_function("() => document.querySelector('#grid .cell img')?.src.includes('/gan/')", timeout=60_000)
    grid_loaded(page)
    assert page.locator("#steps").is_hidden() and page.locator("#repaint").is_hidden()
    assert page.locator("button.repaint").count() == 0 and "steps=" not in page.get_attribute("#grid .cell img", "src")
