"""`python -m benchmarks`: see `benchmarks.cli`."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
