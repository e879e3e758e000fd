"""Benchmarks of checkpoint batching: durable_async against the official SDK and its asyncio fork.

Run `python -m benchmarks --help`. Nothing here is part of the durable_async package; the modules
that run inside the other SDKs' environments (`worker`, `service`, `wire`, `sdks`, `functions`)
use the standard library only; the real-wire endpoint (`endpoint`, aiohttp) runs under the
harness's own interpreter.
"""
