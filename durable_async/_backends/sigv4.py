"""AWS Signature Version 4 for the Lambda API, on `hashlib` and `hmac` alone.

The algorithm is AWS's published one: a canonical request (method, the path URI-encoded a second
time as every service but S3 expects, the sorted query, the signed headers, the payload's
SHA-256), a string to sign over it, and an HMAC chain from the secret key through the date,
region and service. The derived key changes once a day, so it is cached per (secret, day).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = ["Credentials", "Signer"]

_ALGORITHM = "AWS4-HMAC-SHA256"
_PATH_CACHE = 256


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key, its secret, and the session token that temporary credentials carry.

    The secret and the token are left out of the `repr`, so logging a backend leaks neither.
    """

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class Signer:
    """Signs requests to one service in one region."""

    __slots__ = ("_canonical_paths", "_key", "_region", "_service")

    def __init__(self, region: str, service: str) -> None:
        self._region = region
        self._service = service
        self._key: tuple[str, str, bytes] | None = None
        self._canonical_paths: dict[str, str] = {}

    def _canonical_path(self, path: str) -> str:
        """The path encoded a second time; an execution's paths repeat, so they are cached."""
        cache = self._canonical_paths
        canonical = cache.get(path)
        if canonical is None:
            if len(cache) >= _PATH_CACHE:
                cache.clear()
            canonical = cache[path] = quote(path, safe="/~")
        return canonical

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached = self._key
        if cached is not None and cached[0] == secret and cached[1] == day:
            return cached[2]
        key = _hmac(f"AWS4{secret}".encode(), day)
        key = _hmac(_hmac(_hmac(key, self._region), self._service), "aws4_request")
        self._key = (secret, day, key)
        return key

    def headers(
        self,
        credentials: Credentials,
        method: str,
        host: str,
        path: str,
        query: str,
        body: bytes,
        content_type: str | None,
        now: float | None = None,
    ) -> dict[str, str]:
        """The headers that sign a request: `X-Amz-Date`, the token if any, `Authorization`.

        `path` is the request path as sent (already percent-encoded once); `query` is the
        canonical query string (sorted `key=value` pairs joined by `&`, both encoded).
        """
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
        day = stamp[:8]
        signed: list[tuple[str, str]] = [("host", host), ("x-amz-date", stamp)]
        if content_type is not None:
            signed.insert(0, ("content-type", content_type))
        if credentials.token:
            signed.append(("x-amz-security-token", credentials.token))
        names = ";".join(name for name, _ in signed)
        canonical = "\n".join(
            (
                method,
                self._canonical_path(path),
                query,
                "".join(f"{name}:{value}\n" for name, value in signed),
                names,
                hashlib.sha256(body).hexdigest(),
            )
        )
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        to_sign = "\n".join(
            (_ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest())
        )
        signature = hmac.new(
            self._signing_key(credentials.secret_key, day), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        out = {
            "X-Amz-Date": stamp,
            "Authorization": (
                f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
                f"SignedHeaders={names}, Signature={signature}"
            ),
        }
        if credentials.token:
            out["X-Amz-Security-Token"] = credentials.token
        return out
