"""The default serdes and Python's richer values.

Every supported value comes back equal, on first run and on replay alike; plain JSON is written
exactly as before; a step's return annotation types its result back; the official Python SDK's
envelope reads both ways; a value no supported type covers is refused by name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import pytest
from aws_durable_execution_sdk_python.serdes import ExtendedTypeSerDes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

from durable_async import (
    DurableContext,
    InvocationStatus,
    JsonSerdes,
    SerdesError,
    StepError,
    durable_execution,
)
from durable_async._serdes import return_type
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio

SERDES = JsonSerdes()
OFFICIAL = ExtendedTypeSerDes()  # type: ignore[var-annotated]
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Color(enum.Enum):
    RED = "red"
    PAIR = (1, 2)


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


@dataclasses.dataclass
class Reading:
    at: dt.datetime
    raw: bytes
    amount: Decimal
    tags: tuple[str, ...]


class Point(TypedDict):
    x: int
    when: dt.date


class Order(BaseModel):
    id: uuid.UUID
    placed: dt.datetime
    total: Decimal
    lines: list[str]


# -- strategies ------------------------------------------------------------------------------

# Whole seconds: Python 3.11 reads an offset of `+00:00:00.000001` as UTC.
offsets = st.integers(-86399, 86399).map(lambda s: dt.timezone(dt.timedelta(seconds=s)))
datetimes = st.datetimes(timezones=st.none() | st.just(dt.UTC) | offsets)
decimals = st.decimals(allow_nan=False)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
# Values the envelope names: they come back as themselves without a declared type.
named = datetimes | st.dates() | decimals | st.uuids() | st.binary()
rich_values = st.recursive(
    scalars | named,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=12,
)
readings = st.builds(
    Reading,
    at=datetimes,
    raw=st.binary(),
    amount=st.decimals(allow_nan=False, allow_infinity=False),  # pydantic refuses infinity
    tags=st.lists(st.text(), max_size=3).map(tuple),
)
points = st.fixed_dictionaries({"x": st.integers(), "when": st.dates()})
orders = st.builds(
    Order,
    id=st.uuids(),
    placed=st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    total=st.decimals(allow_nan=False, allow_infinity=False, places=2),
    lines=st.lists(st.text(), max_size=3),
)


async def live_and_replayed(
    fn: Callable[[], Any], result_type: Any = None, serdes: Any = None
) -> tuple[Any, Any]:
    """What `await ctx.step(fn)` gives on first run, and replayed from the history."""
    seen: list[Any] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        seen.append(await ctx.step(fn, name="value", result_type=result_type, serdes=serdes))

    outcomes = []
    for always_replay in (False, True):
        seen.clear()
        result = await LocalRunner(handler, always_replay=always_replay).run()
        assert result.status is InvocationStatus.SUCCEEDED, result.error
        assert all(value == seen[0] for value in seen)
        outcomes.append(seen[-1])
    return outcomes[0], outcomes[1]


# -- round trips -----------------------------------------------------------------------------

TYPED_CASES = [
    pytest.param(datetimes, None, id="datetime"),
    pytest.param(st.dates(), None, id="date"),
    pytest.param(decimals, None, id="Decimal"),
    pytest.param(st.uuids(), None, id="UUID"),
    pytest.param(st.binary(), None, id="bytes"),
    pytest.param(st.lists(rich_values, max_size=4).map(tuple), None, id="tuple"),
    pytest.param(rich_values, None, id="nested"),
    pytest.param(st.times(), dt.time, id="time"),
    pytest.param(st.sets(st.integers()), set[int], id="set"),
    pytest.param(st.frozensets(st.text()), frozenset[str], id="frozenset"),
    pytest.param(st.sampled_from(Color), Color, id="enum"),
    pytest.param(st.sampled_from(Size), Size, id="int-enum"),
    pytest.param(readings, Reading, id="dataclass"),
    pytest.param(points, Point, id="TypedDict"),
    pytest.param(orders, Order, id="pydantic"),
    pytest.param(st.lists(orders, max_size=3).map(tuple), tuple[Order, ...], id="tuple-of-models"),
]


@pytest.mark.parametrize(("values", "result_type"), TYPED_CASES)
@EXAMPLES
@given(data=st.data())
async def test_a_step_result_comes_back_equal_live_and_on_replay(
    values: st.SearchStrategy[Any], result_type: Any, data: st.DataObject
) -> None:
    value = data.draw(values)
    live, replayed = await live_and_replayed(lambda: value, result_type)
    assert live == value
    assert replayed == value
    assert type(live) is type(replayed)
    if result_type is not None or not isinstance(value, (list, dict)):
        assert type(live) is type(value)


@EXAMPLES
@given(value=rich_values)
def test_the_serdes_round_trips_named_values_without_a_type(value: Any) -> None:
    assert SERDES.deserialize(SERDES.serialize(value)) == value


@pytest.mark.parametrize(
    ("value", "untyped"),
    [
        (dt.time(12, 30), "12:30:00"),
        ({1, 2}, [1, 2]),
        (Color.RED, "red"),
        (Color.PAIR, (1, 2)),
        (Point(x=1, when=dt.date(2026, 1, 2)), {"x": 1, "when": dt.date(2026, 1, 2)}),
        (Order(id=uuid.UUID(int=1), placed=dt.datetime(2026, 1, 1), total=Decimal(1), lines=[]),
         {"id": str(uuid.UUID(int=1)), "placed": "2026-01-01T00:00:00", "total": "1",
          "lines": []}),
    ],
    ids=["time", "set", "enum", "enum-of-tuple", "TypedDict", "pydantic"],
)  # fmt: skip
async def test_without_a_type_a_value_comes_back_as_its_json_form(value: Any, untyped: Any) -> None:
    live, replayed = await live_and_replayed(lambda: value)
    assert live == replayed == untyped


# -- plain JSON ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_plain_json_is_written_exactly_as_before(value: Any) -> None:
    payload = SERDES.serialize(value)
    looks_enveloped = isinstance(value, dict) and set(value) == {"t", "v"}
    if value is None:
        assert payload is None
    elif not looks_enveloped:
        assert payload == json.dumps(value, separators=(",", ":"))
    assert SERDES.deserialize(payload) == value


@pytest.mark.parametrize(
    ("value", "payload"),
    [
        ("x", '"x"'),
        ({"a": 1, "b": [True, None, 1.5]}, '{"a":1,"b":[true,null,1.5]}'),
        ("café \U0001f600", '"caf\\u00e9 \\ud83d\\ude00"'),
        (float("inf"), "Infinity"),
        ({1: "a"}, '{"1":"a"}'),
        (Size.LARGE, "2"),
        ({"t": 1, "v": 2}, '{"t":1,"v":2}'),  # not a known tag: stays plain
    ],
)
def test_plain_payloads(value: Any, payload: str) -> None:
    assert SERDES.serialize(value) == payload


def test_a_dict_that_would_read_as_an_envelope_is_wrapped() -> None:
    value = {"t": "dt", "v": "2026-01-01T00:00:00"}
    payload = SERDES.serialize(value)
    assert payload == '{"t":"m","v":{"t":"dt","v":"2026-01-01T00:00:00"}}'
    assert SERDES.deserialize(payload) == value
    nested = (1, {"t": "x", "v": {"t": "s", "v": 2}})
    assert SERDES.deserialize(SERDES.serialize(nested)) == nested
    assert OFFICIAL.deserialize(SERDES.serialize(nested)) == nested


def test_only_values_plain_json_cannot_carry_are_enveloped() -> None:
    assert SERDES.serialize({"a": [1, {"b": 2}]}) == '{"a":[1,{"b":2}]}'
    assert SERDES.serialize(dt.date(2026, 1, 2)) == '{"t":"D","v":"2026-01-02"}'
    payload = SERDES.serialize({"a": [1, {"b": 2}], "c": (3,)})
    assert payload == '{"t":"m","v":{"a":[1,{"b":2}],"c":{"t":"t","v":[3]}}}'


@pytest.mark.parametrize(
    "payload",
    ['{"t":"d","v":"abc"}', '{"t":"t","v":{"t":"z","v":1}}', '{"t":"l","v":[{"t":"?","v":1}]}'],
)
def test_a_malformed_envelope_is_a_serdes_error(payload: str) -> None:
    with pytest.raises(SerdesError, match="malformed"):
        SERDES.deserialize(payload)


# -- typing back -----------------------------------------------------------------------------


def colors() -> set[Color]:
    return {Color.RED, Color.PAIR}


async def a_reading() -> Reading:
    return Reading(dt.datetime(2026, 1, 1), b"\x00\xff", Decimal("1.10"), ("a",))


def scaled(factor: int, size: Size) -> Size:
    return Size(size * factor)


class Meter:
    def read(self) -> Point:
        return Point(x=1, when=dt.date(2026, 3, 4))


def unresolvable() -> Any:
    return {1, 2}


unresolvable.__annotations__["return"] = "NoSuchType"


def lazy() -> Iterable[int]:
    return [1, 2]


async def test_a_steps_return_annotation_types_its_result_back() -> None:
    assert await live_and_replayed(colors) == ({Color.RED, Color.PAIR},) * 2
    reading = await a_reading()
    assert await live_and_replayed(a_reading) == (reading, reading)
    assert await live_and_replayed(functools.partial(scaled, 2, Size.SMALL)) == (Size.LARGE,) * 2
    point = Meter().read()
    assert await live_and_replayed(Meter().read) == (point, point)
    live, _ = await live_and_replayed(Meter().read)
    assert isinstance(live["when"], dt.date)


async def test_without_a_usable_annotation_the_json_form_comes_back() -> None:
    assert await live_and_replayed(lambda: {1, 2}) == ([1, 2], [1, 2])
    assert await live_and_replayed(unresolvable) == ([1, 2], [1, 2])
    assert await live_and_replayed(lazy) == ([1, 2], [1, 2])


async def test_a_result_type_wins_over_the_annotation() -> None:
    live, replayed = await live_and_replayed(colors, result_type=Any)  # Any: no typing back
    assert live == replayed
    assert isinstance(live, list)
    assert set(live) == {"red", (1, 2)}
    live, replayed = await live_and_replayed(colors, result_type=list[Color])
    assert live == replayed
    assert isinstance(live, list)
    assert set(live) == {Color.RED, Color.PAIR}


async def test_a_result_not_matching_its_annotation_fails_the_step() -> None:
    def wrong() -> int:
        return "not a number"  # type: ignore[return-value]

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.step(wrong)
        except StepError as err:
            return err.error_type
        return "no error"

    assert (await LocalRunner(handler).run()).result == "SerdesError"


def test_return_type_reads_annotations_it_can_use() -> None:
    def untyped():  # type: ignore[no-untyped-def]
        return 1

    def anything() -> Any:
        return 1

    class NoSchema:
        pass

    def opaque() -> NoSchema:
        return NoSchema()

    assert return_type(colors) == set[Color]
    assert return_type(functools.partial(functools.partial(scaled, 2), Size.SMALL)) is Size
    assert return_type(Meter().read) is Point
    assert return_type(lambda: 1) is None
    assert return_type(untyped) is None
    assert return_type(anything) is None
    assert return_type(unresolvable) is None
    assert return_type(lazy) is None
    assert return_type(opaque) is None
    assert return_type(print) is None
    assert return_type(Meter()) is None


# -- the official SDK's envelope -------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(value=rich_values)
def test_the_official_decoder_reads_what_we_write(value: Any) -> None:
    payload = SERDES.serialize(value)
    if payload is None:
        return
    top = json.loads(payload)
    if (isinstance(top, dict) and set(top) == {"t", "v"}) or OFFICIAL.is_primitive(value):
        assert OFFICIAL.deserialize(payload) == value
    else:  # plain JSON the official SDK would have enveloped: kept plain, as written before
        assert payload == json.dumps(value, separators=(",", ":"))


@settings(max_examples=200, deadline=None)
@given(value=rich_values)
def test_we_read_what_the_official_encoder_writes(value: Any) -> None:
    assert SERDES.deserialize(OFFICIAL.serialize(value)) == value


def test_the_official_envelopes_of_each_type_read_as_the_value() -> None:
    values = [
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        dt.date(2026, 1, 2),
        Decimal("-1.50"),
        uuid.UUID(int=7),
        b"\x00\xff",
        (1, "a", None),
        {"a": 1, "b": [True, 2.5], "c": {"d": None}},
        [{"x": 1}],
    ]
    for value in values:
        assert SERDES.deserialize(OFFICIAL.serialize(value)) == value
        if not isinstance(value, dict | list):  # plain JSON objects stay plain (see above)
            assert OFFICIAL.deserialize(SERDES.serialize(value)) == value
    assert SERDES.deserialize('{"t":"dt","v":"2026-01-02T03:04:05Z"}') == dt.datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC
    )


# -- refused ---------------------------------------------------------------------------------


class Opaque:
    pass


@pytest.mark.parametrize(
    ("value", "name"),
    [(Opaque(), "Opaque"), ({"a": [object()]}, "object"), ({(1, 2): 1}, "tuple")],
)
def test_a_value_no_supported_type_covers_is_refused_by_name(value: Any, name: str) -> None:
    with pytest.raises(SerdesError, match=name):
        SERDES.serialize(value)


async def test_a_step_returning_an_unsupported_value_fails_with_a_serdes_error() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.step(Opaque, name="opaque")
        except StepError as err:
            return f"{err.error_type}: {err.error_message}"
        return "no error"

    for always_replay in (False, True):
        result = await LocalRunner(handler, always_replay=always_replay).run()
        assert result.result.startswith("SerdesError: the result of step 'opaque'")
        assert "Opaque is not JSON serialisable" in result.result
