"""The local durable-functions server (`durable-async serve`) as a Python API.

```python
from durable_async.server import DurableServer

async with DurableServer({"approval": handler}, db="runs.db") as server:
    print(server.url)  # the API (any client's endpoint_url) and the viewer
```

It serves the Lambda durable execution API and Invoke for the functions it is given, persists
executions in SQLite (they resume when it starts again), and shows them in a web viewer at its
URL. See the "Local server" page of the documentation.
"""

from __future__ import annotations

from ._public import publish as _publish
from ._server.app import DEFAULT_DB as DEFAULT_DB
from ._server.app import DurableServer as DurableServer
from ._server.functions import FUNCTION_TIMEOUT as FUNCTION_TIMEOUT

__all__ = ["DEFAULT_DB", "FUNCTION_TIMEOUT", "DurableServer"]

_publish(globals(), __all__, __name__)
