"""The SDKs under test, each in a virtual environment of its own, and the machine they run on.

Environments live in `benchmarks/.venvs/<key>` (ignored by git) and are reused while their
requirements are unchanged; they are created with `python -m venv` and filled by pip from the
package index. Each SDK gets its own environment because their pins conflict (the asyncio fork
pins an older botocore than the official SDK's boto3 needs).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["REPO", "SDKS", "Sdk", "ensure", "machine", "python_of", "versions"]

REPO = Path(__file__).resolve().parent.parent
VENVS = REPO / "benchmarks" / ".venvs"


@dataclass(frozen=True)
class Sdk:
    """One SDK under test (or a helper environment)."""

    key: str
    label: str
    module: str
    """What `import` measures (B4)."""
    requirements: tuple[str, ...]
    """pip arguments that install it."""
    distribution: str
    """The distribution whose version the report shows."""
    concurrency: str
    """How it runs concurrent operations."""


SDKS: dict[str, Sdk] = {
    "ours": Sdk(
        "ours",
        "durable_async",
        "durable_async",
        ("-e", str(REPO)),
        "durable-async",
        "asyncio tasks",
    ),
    "fork": Sdk(
        "fork",
        "async-durable-execution",
        "async_durable_execution",
        ("async-durable-execution==2.5.0",),
        "async-durable-execution",
        "asyncio tasks",
    ),
    "official": Sdk(
        "official",
        "aws-durable-execution-sdk-python",
        "aws_durable_execution_sdk_python",
        (
            "aws-durable-execution-sdk-python==3.0.0",
            "aws-durable-execution-sdk-python-testing==1.4.0",
        ),
        "aws-durable-execution-sdk-python",
        "threads",
    ),
}

REPORT = Sdk("report", "plots", "matplotlib", ("matplotlib>=3.8",), "matplotlib", "")
"""The environment that draws the plots, so the project itself never depends on matplotlib."""


def python_of(key: str) -> Path:
    return VENVS / key / "bin" / "python"


def _fingerprint(sdk: Sdk) -> str:
    text = json.dumps(sdk.requirements)
    if sdk.key == "ours":  # an editable install follows the code, but not new dependencies
        text += (REPO / "pyproject.toml").read_text()
    return hashlib.sha256(text.encode()).hexdigest()


def ensure(sdk: Sdk, log: Any = None) -> Path:
    """Create (or reuse) the SDK's environment; return its interpreter."""
    home = VENVS / sdk.key
    python = python_of(sdk.key)
    stamp = home / ".bench-requirements"
    want = _fingerprint(sdk)
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    if log:
        log(f"creating the {sdk.key} environment ({' '.join(sdk.requirements)}) ...")
    VENVS.mkdir(parents=True, exist_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*cmd, *sdk.requirements], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pip install for {sdk.key} failed:\n{done.stderr[-3000:]}")
    stamp.write_text(want)
    return python


def versions(python: Path | str, distributions: list[str]) -> dict[str, str]:
    """Installed versions of `distributions` in the environment of `python`."""
    code = (
        "import importlib.metadata as m, json, sys, platform\n"
        "out = {'python': platform.python_version()}\n"
        "for d in sys.argv[1:]:\n"
        "    try: out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError: out[d] = None\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [str(python), "-c", code, *distributions], capture_output=True, text=True, check=True
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": memory,
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "harness_python": sys.version.split()[0],
    }
