"""The AWS backend: talk to the Lambda durable execution API through aiobotocore.

A durable handler running in Lambda creates an `AwsBackend` by itself on first use; build one
explicitly to choose the region, the endpoint, the credentials, the transport or the number of
attempts.

```python
from durable_async.aws import AwsBackend

backend = AwsBackend(endpoint_url="http://127.0.0.1:9014", max_attempts=3)
```
"""

from __future__ import annotations

from ._backends.aws import AwsBackend as AwsBackend
from ._backends.aws import Transport as Transport
from ._backends.sigv4 import Credentials as Credentials

__all__ = ["AwsBackend", "Credentials", "Transport"]
