"""Headless Chromium from the system (Debian's `/usr/bin/chromium`), driven by Playwright.

Nothing is downloaded: Playwright's own browsers are never installed, and the flags below keep
Chromium from reaching for the network (the machines that run these tests may have none).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FloatRect, Playwright, ViewportSize

CHROMIUM = Path(os.environ.get("DURABLE_ASYNC_CHROMIUM", "/usr/bin/chromium"))

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

VIEWPORT: ViewportSize = {"width": 1360, "height": 900}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or `None` when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}"
    return None


def launch(playwright: Playwright) -> Browser:
    """Start the system's Chromium, headless."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def save_screenshot(
    url: str,
    path: str | Path,
    *,
    selector: str = '[data-testid="timeline"]',
    browser: Browser | None = None,
) -> Path:
    """Open `url` (an execution's view, `.../#/execution/<arn>`) and save a PNG of the page
    from its top to the bottom of `selector`'s panel (default: the timeline) at `path`.

    Uses `browser` if given, else starts the system's Chromium for the shot.
    """
    from playwright.sync_api import sync_playwright

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if browser is not None:
        _shoot(browser, url, out, selector)
        return out
    with sync_playwright() as playwright:
        own = launch(playwright)
        try:
            _shoot(own, url, out, selector)
        finally:
            own.close()
    return out


def _shoot(browser: Browser, url: str, out: Path, selector: str) -> None:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector('[data-testid="timeline-row"]')
        box = page.locator(selector).locator("xpath=..").bounding_box()
        assert box is not None, f"{selector} is not shown"
        height = min(box["y"] + box["height"] + 16, 4000)
        clip: FloatRect = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height}
        page.screenshot(path=str(out), clip=clip, full_page=True)
    finally:
        context.close()
