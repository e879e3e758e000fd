"""What the service's error answers mean to the runtime, whichever client received them.

| service answer                                              | raised                      |
| ----------------------------------------------------------- | --------------------------- |
| `InvalidParameterValueException` "Invalid checkpoint token" | `StaleCheckpointTokenError` |
| `TooManyRequestsException`, `ServiceException`, 429, 5xx    | `BackendUnavailableError`   |
| `KMS*` (sent as 502), every other 4xx                       | `CheckpointRejectedError`   |
"""

from __future__ import annotations

from typing import Any

from .._errors import (
    BackendError,
    BackendUnavailableError,
    CheckpointRejectedError,
    StaleCheckpointTokenError,
)

__all__ = ["classify_service_error"]

_STALE_TOKEN_CODE = "InvalidParameterValueException"
_STALE_TOKEN_PREFIX = "invalid checkpoint token"
_TRANSIENT_CODES = frozenset({"TooManyRequestsException", "ServiceException"})


def classify_service_error(operation: str, err: Any) -> BackendError:
    """Map an error answer (anything with botocore's `ClientError.response` shape)."""
    response: dict[str, Any] = getattr(err, "response", None) or {}
    error: dict[str, Any] = response.get("Error") or {}
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")
    metadata: dict[str, Any] = response.get("ResponseMetadata") or {}
    try:
        status = int(metadata.get("HTTPStatusCode") or 0)
    except (TypeError, ValueError):
        status = 0
    label = code or "UnknownError"
    text = f"{operation} failed: {label} (HTTP {status or '?'}): {message or '(no message)'}"
    if code == _STALE_TOKEN_CODE and message.lower().startswith(_STALE_TOKEN_PREFIX):
        return StaleCheckpointTokenError(text, code=code, cause=err)
    # KMS errors come back as 502, so they are recognised before the 5xx rule.
    if code.startswith("KMS"):
        return CheckpointRejectedError(text, code=code, cause=err)
    if code in _TRANSIENT_CODES or status == 429 or status >= 500:
        return BackendUnavailableError(text, code=code or None, cause=err)
    return CheckpointRejectedError(text, code=code or None, cause=err)
