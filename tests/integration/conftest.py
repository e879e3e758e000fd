"""Fixtures for the real-wire suite: AWS's local runner and our Lambda Invoke endpoint.

The session fixture `wire` starts, with `durable_async.testing.AwsLocalRunner`, on 127.0.0.1:

1. the Invoke endpoint (an `aiohttp.web` server on its own thread and event loop) hosting
   every scenario's `@durable_execution` handler by function name, plus the chained-invoke
   targets; each durable invocation runs `handler.invoke_async(event, None, backend=...)`
   with one shared `AwsBackend` pointed at the runner;
2. `dex-local-runner start-server` (from `aws-durable-execution-sdk-python-testing`) as a
   subprocess on a free port, with `--lambda-endpoint` at the endpoint and
   `--function-configs` declaring the targets, on the real clock.

It waits (at most 20 s) for the runner's `/health`, and at the end terminates the runner
(then kills it if it lingers) and stops the endpoint. No Docker, no AWS account: the runner
gets dummy credentials in its environment only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _scenarios import DURABLE_FUNCTIONS, TARGETS_PLAIN
from _wire import Wire, running_wire

from durable_async.testing import runner_available


@pytest.fixture(scope="session")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wire]:
    """The runner and the Invoke endpoint, for the whole session."""
    if not runner_available():
        pytest.skip("the real-wire suite needs aws-durable-execution-sdk-python-testing")
    with running_wire(
        DURABLE_FUNCTIONS, TARGETS_PLAIN, tmp_path_factory.mktemp("dex-runner")
    ) as running:
        yield running
