"""Durations, retry policies, ids and serialisation."""

from __future__ import annotations

import datetime as dt
from hashlib import blake2b

import pytest
from pydantic import BaseModel

from durable_async import Duration, JsonSerdes, RetryPolicy, SerdesError, ValidationError
from durable_async._duration import to_seconds
from durable_async._ids import operation_id


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (5, 5),
        (5.0, 5),
        (dt.timedelta(minutes=2), 120),
        (Duration.hours(1), 3600),
        (Duration.of(days=1, seconds=1), 86401),
    ],
)
def test_durations_convert_to_whole_seconds(value: object, seconds: int) -> None:
    assert to_seconds(value) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "between 1 and"),
        (1.5, "whole number"),
        (dt.timedelta(milliseconds=10), "whole number"),
        ("5", "must be seconds"),
        (True, "must be seconds"),
        (40_000_000, "between 1 and"),
    ],
)
def test_invalid_durations_are_rejected_with_the_reason(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        to_seconds(value)  # type: ignore[arg-type]


def test_ids_follow_the_blake2b_scheme() -> None:
    root = operation_id(None, 1)
    assert root == blake2b(b"1").hexdigest()[:64]
    assert operation_id(root, 2) == blake2b(f"{root}-2".encode()).hexdigest()[:64]
    assert len(root) == 64


def test_retry_policy_backs_off_exponentially_and_stops() -> None:
    policy = RetryPolicy(max_attempts=4, initial_delay=2, max_delay=5, jitter="none")
    assert [policy(ValueError(), n).delay_seconds for n in (1, 2, 3)] == [2, 4, 5]
    assert policy(ValueError(), 4).retry is False


def test_retry_policy_only_retries_listed_errors_and_jitter_stays_in_bounds() -> None:
    policy = RetryPolicy(max_attempts=10, initial_delay=8, retry_on=(ConnectionError,))
    assert policy(ValueError(), 1).retry is False
    delays = {policy(ConnectionError(), 1).delay_seconds for _ in range(200)}
    assert delays <= set(range(1, 9))
    assert len(delays) > 1
    half = RetryPolicy(initial_delay=8, jitter="half")
    assert {half(OSError(), 1).delay_seconds for _ in range(100)} <= set(range(4, 9))


class Item(BaseModel):
    name: str


def test_json_serdes_round_trips_plain_values_and_models() -> None:
    serdes = JsonSerdes()
    assert serdes.serialize("x") == '"x"'
    assert serdes.serialize(None) is None
    assert serdes.deserialize(None) is None
    assert serdes.serialize(Item(name="a")) == '{"name":"a"}'
    assert serdes.deserialize('{"name":"a"}', Item) == Item(name="a")
    assert serdes.deserialize("[1,2]", tuple[int, int]) == (1, 2)


def test_json_serdes_errors_name_the_problem() -> None:
    serdes = JsonSerdes()
    with pytest.raises(SerdesError, match="object is not JSON serialisable"):
        serdes.serialize(object())
    with pytest.raises(SerdesError, match="does not match"):
        serdes.deserialize('{"name": 1}', Item)
