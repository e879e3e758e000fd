"""The feature end to end, as a person uses it: `durable-async serve` in its own process, an
approval started through botocore, answered by a click in the viewer in headless Chromium, and
still listed after the server restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ._browser import VIEWPORT, browser_missing, launch

_missing = browser_missing()
if _missing is not None:
    if os.environ.get("DURABLE_ASYNC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"DURABLE_ASYNC_REQUIRE_BROWSER=1 but {_missing}", pytrace=False)
    pytest.skip(_missing, allow_module_level=True)

import botocore.session  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.timeout(90)

APPROVAL = Path(__file__).resolve().parents[2] / "examples" / "approval.py"


@contextmanager
def serve(db: Path) -> Iterator[str]:
    """`durable-async serve` the approval example on a free port; yield its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "durable_async",
            "serve",
            f"approval={APPROVAL}:handler",
            "--port",
            "0",
            "--db",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("durable-async serve: http://127.0.0.1:"), banner
        yield banner.split()[2]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_approve_in_the_viewer_an_execution_started_through_botocore(tmp_path: Path) -> None:
    db = tmp_path / "executions.db"
    session = botocore.session.get_session()
    session.set_credentials("local", "local")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(15_000)
            with serve(db) as url:
                client = session.create_client("lambda", region_name="us-east-1", endpoint_url=url)
                started = client.invoke(
                    FunctionName="approval",
                    InvocationType="Event",
                    Payload=json.dumps({"amount": 250}).encode(),
                    DurableExecutionName="invoice-250",
                )
                arn = started["DurableExecutionArn"]
                started["Payload"].close()

                page.goto(url)
                row = page.get_by_test_id("execution-row").filter(has_text="invoice-250")
                expect(row.get_by_test_id("execution-status")).to_have_text("RUNNING")
                row.get_by_test_id("execution-link").click()
                detail = page.get_by_test_id("detail-view")
                expect(detail.get_by_test_id("callback")).to_have_count(1)
                detail.get_by_test_id("callback-payload").fill('{"approved": true, "by": "sam"}')
                detail.get_by_test_id("callback-succeed").click()

                expect(detail.get_by_test_id("execution-status")).to_have_text("SUCCEEDED")
                expect(detail.get_by_test_id("execution-result")).to_contain_text("paid-250")
                summary = client.get_durable_execution(DurableExecutionArn=arn)
                client.close()
                assert summary["Status"] == "SUCCEEDED"
                assert json.loads(summary["Result"]) == {
                    "amount": 250,
                    "approved": True,
                    "by": "sam",
                    "receipt": "paid-250",
                }

            with serve(db) as url:  # a new process, on another port, on the same file
                page.goto(url)
                row = page.get_by_test_id("execution-row").filter(has_text="invoice-250")
                expect(row.get_by_test_id("execution-status")).to_have_text("SUCCEEDED")
        finally:
            browser.close()
