"""The AWS backend: talk to the Lambda durable execution API through aiobotocore.

```python
from durable_async.aws import AwsBackend

backend = AwsBackend(endpoint_url="http://127.0.0.1:9014")  # or no arguments in Lambda
```
"""

from __future__ import annotations

from ._aws_backend import AwsBackend as AwsBackend
from ._aws_backend import classify_error as classify_error

__all__ = ["AwsBackend", "classify_error"]
