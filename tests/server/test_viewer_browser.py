"""The viewer page in a real browser: the system's headless Chromium, driven by Playwright.

Skipped when Playwright or `/usr/bin/chromium` is missing, unless `DURABLE_ASYNC_REQUIRE_BROWSER=1`
(then it fails). The server and the workflows it shows run on the harness's own loop in a thread;
the browser runs on the test's thread (Playwright's sync API).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from durable_async import DurableContext, durable_execution
from durable_async.testing import LocalRunner

from ._browser import VIEWPORT, browser_missing, launch, save_screenshot
from ._harness import ViewerServer

_missing = browser_missing()
if _missing is not None:
    if os.environ.get("DURABLE_ASYNC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"DURABLE_ASYNC_REQUIRE_BROWSER=1 but {_missing}", pytrace=False)
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

XSS = "<img src=x onerror=alert(1)>"


@durable_execution
async def approval(event: Any, ctx: DurableContext) -> dict[str, Any]:
    order = await ctx.step(lambda: event["order"], name="prepare")
    decision = await ctx.wait_for_callback(lambda callback_id: None, name="approval", timeout=3600)
    return {"order": order, "decision": decision}


class Site:
    """A served viewer with its executions, by name."""

    def __init__(self, server: ViewerServer, arns: dict[str, str]) -> None:
        self.server = server
        self.arns = arns

    def execution_url(self, name: str) -> str:
        return f"{self.server.url}#/execution/{quote(self.arns[name], safe='')}"

    def status(self, name: str) -> str:
        return str(self.server.backend.get_execution(self.arns[name])["Status"])


@pytest.fixture
def site() -> Iterator[Site]:
    arns: dict[str, str] = {}

    async def setup(server: ViewerServer) -> None:
        runner = LocalRunner(approval, backend=server.backend)
        for name, order in [("approve-1", "A-1"), ("xss-<i>name</i>", XSS)]:
            run = runner.start({"order": order}, name=name)
            await run.callback_id()
            server.follow(run)
            arns[name] = run.execution_arn
        bare = server.backend.start_execution(
            {"invoice": 7}, name="bill-7", function_name="billing"
        )
        arns["bill-7"] = bare.durable_execution_arn

    with ViewerServer(setup) as server:
        yield Site(server, arns)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, dialogs: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    page = context.new_page()

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        context.close()


def row(page: Page, name: str) -> Any:
    return page.get_by_test_id("execution-row").filter(
        has=page.get_by_test_id("execution-link").get_by_text(name, exact=True)
    )


def test_answer_a_pending_callback_from_the_page(site: Site, page: Page) -> None:
    page.goto(site.server.url)
    expect(page.get_by_test_id("live-status")).to_have_text("live")
    expect(page.get_by_test_id("execution-row")).to_have_count(3)
    expect(row(page, "approve-1").get_by_test_id("execution-status")).to_have_text("RUNNING")
    row(page, "approve-1").click()

    expect(page).to_have_url(re.compile(r"#/execution/"))
    detail = page.get_by_test_id("detail-view")
    expect(detail.get_by_test_id("execution-status")).to_have_text("RUNNING")
    expect(detail.get_by_test_id("stop-execution")).to_be_visible()
    timeline = detail.get_by_test_id("timeline")
    expect(timeline.get_by_test_id("timeline-row").filter(has_text="prepare")).to_have_attribute(
        "data-status", "SUCCEEDED"
    )
    expect(
        timeline.get_by_test_id("timeline-row").filter(has_text="approvalCallback")
    ).to_have_attribute("data-status", "STARTED")
    expect(detail.get_by_test_id("history-row").first).to_contain_text("ExecutionStarted")

    # A reload keeps the execution open.
    page.reload()
    expect(detail.get_by_test_id("callback")).to_have_count(1)
    payload = detail.get_by_test_id("callback-payload")
    payload.fill('{"approved": true, "by": "ada"}')
    detail.get_by_test_id("callback-succeed").click()

    expect(detail.get_by_test_id("execution-status")).to_have_text("SUCCEEDED")
    expect(detail.get_by_test_id("execution-result")).to_contain_text('"by": "ada"')
    expect(detail.get_by_test_id("callback")).to_have_count(0)
    expect(detail.get_by_test_id("stop-execution")).to_have_count(0)
    assert site.status("approve-1") == "SUCCEEDED"

    page.get_by_text("← All executions").click()
    expect(row(page, "approve-1").get_by_test_id("execution-status")).to_have_text("SUCCEEDED")


def test_a_bad_payload_is_not_sent(site: Site, page: Page) -> None:
    page.goto(site.execution_url("approve-1"))
    detail = page.get_by_test_id("detail-view")
    detail.get_by_test_id("callback-payload").fill("{not json")
    detail.get_by_test_id("callback-succeed").click()
    expect(detail.get_by_test_id("callback-message")).to_contain_text("not valid JSON")
    assert site.status("approve-1") == "RUNNING"
    detail.get_by_test_id("callback-error-type").fill("Rejected")
    detail.get_by_test_id("callback-error-message").fill("over budget")
    detail.get_by_test_id("callback-fail").click()
    expect(detail.get_by_test_id("execution-status")).to_have_text("FAILED")
    expect(detail.get_by_test_id("execution-error")).to_be_visible()


def test_filters_and_stop(site: Site, page: Page) -> None:
    page.goto(site.server.url)
    expect(page.get_by_test_id("execution-row")).to_have_count(3)
    page.get_by_test_id("filter-text").fill("approve")
    expect(page.get_by_test_id("execution-row")).to_have_count(1)
    page.get_by_test_id("filter-text").fill("")
    page.get_by_test_id("filter-status").select_option("RUNNING")
    expect(page.get_by_test_id("execution-row")).to_have_count(3)
    page.get_by_test_id("filter-status").select_option("STOPPED")
    expect(page.get_by_test_id("execution-row")).to_have_count(0)
    page.get_by_test_id("filter-status").select_option("")

    row(page, "bill-7").get_by_test_id("execution-link").click()
    detail = page.get_by_test_id("detail-view")
    expect(detail.get_by_test_id("execution-name")).to_have_text("bill-7")
    detail.get_by_test_id("stop-execution").click()
    expect(detail.get_by_test_id("execution-status")).to_have_text("STOPPED")
    assert site.status("bill-7") == "STOPPED"


def test_payload_text_is_shown_as_text(site: Site, page: Page, dialogs: list[str]) -> None:
    page.goto(site.server.url)
    expect(row(page, "xss-<i>name</i>")).to_have_count(1)
    row(page, "xss-<i>name</i>").get_by_test_id("execution-link").click()
    detail = page.get_by_test_id("detail-view")
    expect(detail.get_by_test_id("execution-name")).to_have_text("xss-<i>name</i>")
    expect(detail.get_by_test_id("execution-input")).to_contain_text(XSS)
    detail.get_by_test_id("callback-payload").fill(f'{{"note": "{XSS}"}}')
    detail.get_by_test_id("callback-succeed").click()
    expect(detail.get_by_test_id("execution-status")).to_have_text("SUCCEEDED")
    expect(detail.get_by_test_id("execution-result")).to_contain_text(XSS)
    for op in detail.get_by_test_id("operation").all():
        op.locator("summary").click()
    expect(detail.get_by_test_id("operation-result").filter(has_text=XSS).first).to_be_visible()
    expect(detail.get_by_test_id("history")).to_contain_text("onerror=alert(1)")
    assert page.locator("img").count() == 0
    assert page.locator("i").count() == 0
    assert dialogs == []


def test_save_screenshot(site: Site, browser: Browser, tmp_path: Path) -> None:
    out = save_screenshot(site.execution_url("approve-1"), tmp_path / "viewer.png", browser=browser)
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000
