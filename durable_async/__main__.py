"""`python -m durable_async` is the `durable-async` command."""

from ._cli import main

raise SystemExit(main())
