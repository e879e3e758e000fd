"""Starting and stopping `AwsLocalRunner` itself: a port taken before the runner binds it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from durable_async.testing import AwsLocalRunner, LambdaEndpoint, _aws_runner, runner_available

pytestmark = pytest.mark.skipif(
    not runner_available(), reason="needs aws-durable-execution-sdk-python-testing"
)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_port_is_retried_on_another(
    taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    picks = iter([taken_port])
    free_port = _aws_runner._free_port
    monkeypatch.setattr(_aws_runner, "_free_port", lambda: next(picks, None) or free_port())
    runner = AwsLocalRunner(LambdaEndpoint({}, {"echo": lambda payload: payload}))
    with runner:
        assert runner.port != taken_port
        assert runner.endpoint.url.startswith("http://127.0.0.1:")
    assert runner.log_tail() == ""  # the temporary log is gone
