"""`python -m conformance`: see `conformance.run`."""

from __future__ import annotations

from .run import main

raise SystemExit(main())
