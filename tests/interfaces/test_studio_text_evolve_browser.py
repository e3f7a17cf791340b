"""Text by likes in a real headless browser (Debian's chromium driven by Playwright): open a text run, start an
evolution session, like a card and get the next generation, with the liked text kept first. A screenshot is kept
in test-artifacts/studio-text-evolve.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import quiet_console
from studio_browser import browser, open_page, screenshot, studio_over  # noqa: F401 - browser is a fixture


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The studio over a folder with one tiny text run, served by uvicorn in a thread on a free port."""
    from genart.kinds.text.config import TextConfig
    from genart.train import train

    def fill(root: Path) -> None:
        corpus = root.parent / "corpus.txt"
        corpus.write_text("the quick brown fox jumps over the lazy dog. " * 60, encoding="utf-8")
        train(TextConfig(data=str(corpus), layers=1, hidden=16, embed=8, batch=4, bptt=16, steps=4, warmup=1,
                         log_every=2, sample_every=0, device="cpu", precision="fp32"), root / "words", console=quiet_console())

    yield from studio_over(tmp_path_factory, "text-evolve", fill)


def test_like_a_text_card_and_get_the_next_generation(studio_url: str, browser) -> None:  # noqa: F811
    page, errors = open_page(browser, studio_url)
    page.click("#runs button[data-run='words']")
    page.wait_for_selector("#text-page:not([hidden])", timeout=60_000)
    page.fill("#prime", "the ")
    page.fill("#length", "16")
    page.fill("#text-n", "4")
    page.fill("#text-session", "browser")
    page.click("#text-evolve-start")
    page.wait_for_function("() => document.getElementById('text-cards').dataset.generation === '0'", timeout=60_000)
    assert page.locator(".text-card").count() == 4
    gen0 = page.locator(".text-card pre").all_inner_texts()
    assert all(t.startswith("the ") for t in gen0) and "temperature 0.80" in page.inner_text("#text-generation")

    page.click(".text-card[data-index='2'] button.like")
    page.click(".text-card[data-index='0'] button.dislike")
    assert page.locator(".text-card.liked").count() == 1 and page.locator(".text-card.disliked").count() == 1
    page.click("#text-evolve-next")
    page.wait_for_function("() => document.getElementById('text-cards').dataset.generation === '1'", timeout=60_000)
    assert "generation 1" in page.inner_text("#text-generation")
    captions = page.locator(".text-card figcaption span").all_inner_texts()
    assert captions[0] == "0 · kept 2" and captions[1] == "1 · branch of 2" and captions[-1] == "3 · new", captions
    texts = page.locator(".text-card pre").all_inner_texts()
    assert texts[0] == gen0[2] and texts[1].startswith("the ") and page.locator(".text-card.liked").count() == 0
    assert page.locator("#error").is_hidden() and not errors, errors

    screenshot(page, "studio-text-evolve.png")
