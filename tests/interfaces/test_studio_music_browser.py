"""The music panel in a real headless browser (Debian's chromium driven by Playwright): open a music run trained with
--fim, compose, the piano roll is drawn and its playhead follows the audio, drag across bars 2-3, regenerate them,
and the span is marked on the roll. A screenshot is kept in test-artifacts/studio-music.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from studio_browser import browser, need_chromium, open_page, screenshot, studio_over  # noqa: F401 - a fixture
from test_studio_music import fim_music_run


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The studio over a folder with one tiny music run trained with --fim, served by uvicorn in a thread."""
    need_chromium()  # before training the run
    yield from studio_over(tmp_path_factory, "studio-music-browser", lambda root: fim_music_run(root / "bach"))


def test_compose_select_bars_and_regenerate_them(studio_url: str, browser) -> None:  # noqa: F811
    page, errors = open_page(browser, studio_url)
    page.click("#runs button[data-run='bach']")
    page.wait_for_selector("#music-page:not([hidden])", timeout=60_000)
    page.wait_for_selector("#music-infill:not([hidden])", timeout=60_000)  # a --fim run: bars can be regenerated
    page.fill("#bars", "4")
    page.fill("#music-seed", "2")
    page.click("#compose")
    page.wait_for_selector("#roll:not([hidden])", timeout=60_000)
    assert int(page.get_attribute("#roll", "data-notes")) > 0
    inked = page.evaluate("""() => { const c = document.getElementById('roll');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - d[i + 2]) > 60) n++;  // coloured (note) pixels
      return n; }""")
    assert inked > 100
    page.wait_for_function("() => document.getElementById('audio').readyState >= 1", timeout=60_000)
    page.evaluate("() => { document.getElementById('audio').currentTime = 1; }")  # the playhead follows the audio
    page.wait_for_function("() => document.getElementById('roll').dataset.playhead === '1.00'", timeout=10_000)

    box = page.locator("#roll").bounding_box()
    x_of = page.evaluate("""() => { const c = document.getElementById('roll'), r = c.getBoundingClientRect();
      return [0.375, 0.625].map((f) => r.left + (34 + f * (c.width - 42)) * r.width / c.width); }""")  # bars 2 and 3
    y = box["y"] + box["height"] / 2
    page.mouse.move(x_of[0], y)
    page.mouse.down()
    page.mouse.move(x_of[1], y, steps=4)
    page.mouse.up()
    assert page.inner_text("#infill-bars") == "regenerate bars 2-3"
    page.click("#infill-bars")
    page.wait_for_function("() => document.getElementById('music-progress').textContent.includes('regenerated')",
                           timeout=60_000)
    assert "regenerated 2-3 (seed 1)" in page.inner_text("#music-progress")
    assert page.get_attribute("#roll", "data-infilled") == "2-3"  # the span is marked on the roll
    assert "infills=2-3%3A1" in page.get_attribute("#audio", "data-src")
    assert page.locator("#error").is_hidden() and not errors, errors

    screenshot(page, "studio-music.png")
