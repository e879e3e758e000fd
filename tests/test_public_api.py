from __future__ import annotations

import inspect
import types

import pytest

import durable_async
import durable_async.testing


@pytest.mark.parametrize("module", [durable_async, durable_async.testing])
def test_all_lists_exactly_the_public_names(module: types.ModuleType) -> None:
    # `dir`, not `vars`: names a deployed function never needs are imported on first use.
    public = {n for n in dir(module) if not n.startswith("_") and n != "annotations"}
    public -= {n for n in public if isinstance(getattr(module, n), types.ModuleType)}
    assert sorted(module.__all__) == sorted(public)


@pytest.mark.parametrize("module", [durable_async, durable_async.testing])
def test_every_public_name_has_a_docstring(module: types.ModuleType) -> None:
    missing = [n for n in module.__all__ if not inspect.getdoc(getattr(module, n))]
    assert missing == []


def test_package_is_typed() -> None:
    assert inspect.getfile(durable_async).rsplit("/", 1)[0] + "/py.typed"
    import importlib.resources

    assert importlib.resources.files("durable_async").joinpath("py.typed").is_file()


@pytest.mark.parametrize("module", [durable_async, durable_async.testing])
def test_public_names_show_the_module_users_import_them_from(module: types.ModuleType) -> None:
    shown = {
        n: getattr(module, n).__module__
        for n in module.__all__
        if inspect.isclass(getattr(module, n)) or inspect.isfunction(getattr(module, n))
    }
    assert shown
    assert {n: m for n, m in shown.items() if m not in ("durable_async", module.__name__)} == {}


def test_a_traceback_names_the_public_class() -> None:
    import traceback

    try:
        raise durable_async.StepError("Boom", "it failed")
    except durable_async.StepError as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc))
    assert text.startswith("durable_async.StepError")
