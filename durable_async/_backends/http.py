"""A small HTTP/1.1 client for one origin: keep-alive connections on asyncio streams.

It sends what the durable execution API needs (a `GET` or a `POST` with a JSON body) and reads
responses framed by `Content-Length`, by chunked transfer coding, or by the connection closing.
Idle connections are kept and reused, newest first, unless they have idled longer than
`MAX_IDLE_SECONDS` (a Lambda sandbox frozen between invocations may come back to a connection a
middlebox dropped without a word, which only a read timeout would reveal) or the server has
already closed them. A reused connection that turns out to have been closed by the server before
it answered is replaced, transparently, as every HTTP client does. Errors are the three ways a
request fails without an answer, so a caller can tell "never connected" from "connected, then
lost it".
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass

__all__ = ["ConnectFailed", "ConnectionLost", "Origin", "Pool", "ReadTimedOut", "Response"]

_MAX_IDLE = 8
MAX_IDLE_SECONDS = 20.0
_HEADER_LIMIT = 1 << 16


class ConnectFailed(OSError):
    """No connection could be made (refused, unreachable, or not within the connect timeout)."""


class ConnectionLost(OSError):
    """The connection broke before the whole response arrived."""


class ReadTimedOut(OSError):
    """The response did not arrive within the read timeout."""


@dataclass(frozen=True, slots=True)
class Response:
    """A response: its status, its headers (names lower-cased) and its whole body."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Origin:
    """Where requests go: `http` or `https`, the host and the port."""

    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        """The `Host` header: the port is left out when it is the scheme's default."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def reusable(self) -> bool:
        """Not idle for too long, and not closed by the server meanwhile."""
        fresh = time.monotonic() - self.idle_since < MAX_IDLE_SECONDS
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # its event loop may be closed already
            self.writer.close()


class Pool:
    """Connections to one origin, reused across requests."""

    def __init__(
        self,
        origin: Origin,
        *,
        connect_timeout: float,
        read_timeout: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.origin = origin
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._ssl = ssl_context
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        origin = self.origin
        tls: ssl.SSLContext | None = None
        if origin.scheme == "https":
            tls = self._ssl or ssl.create_default_context()
            self._ssl = tls
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(
                    origin.host, origin.port, ssl=tls, limit=_HEADER_LIMIT
                )
        except TimeoutError as exc:
            raise ConnectFailed(
                f"no connection to {origin.host}:{origin.port} within {self._connect_timeout:g} s"
            ) from exc
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        return _Connection(reader, writer)

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Response:
        """Send one request and return its response; headers must not include framing ones."""
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.origin.host_header}"]
        head.extend(f"{name}: {value}" for name, value in headers.items())
        if body or method == "POST":
            head.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        while self._idle:
            connection = self._idle.pop()
            if not connection.reusable():
                connection.close()
                continue
            try:
                return await self._exchange(connection, data, reused=True)
            except _Stale:
                continue  # the server closed it while idle: try the next one
        return await self._exchange(await self._connect(), data, reused=False)

    async def _exchange(self, connection: _Connection, data: bytes, *, reused: bool) -> Response:
        answered = False
        try:
            connection.writer.write(data)
            async with asyncio.timeout(self._read_timeout):
                await connection.writer.drain()
                status_line = await connection.reader.readline()
                if not status_line:
                    raise asyncio.IncompleteReadError(b"", None)
                answered = True
                response, keep = await _read_response(connection.reader, status_line)
        except TimeoutError as exc:
            connection.close()
            raise ReadTimedOut(f"no response within {self._read_timeout:g} s") from exc
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            connection.close()
            if reused and not answered:
                raise _Stale from exc
            raise ConnectionLost(f"connection lost: {exc!r}") from exc
        except BaseException:
            connection.close()  # cancelled mid-exchange: the connection's state is unknown
            raise
        if keep and len(self._idle) < _MAX_IDLE:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        return response

    def close(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class _Stale(Exception):
    """A reused connection was closed by the server before it answered."""


async def _read_response(reader: asyncio.StreamReader, status_line: bytes) -> tuple[Response, bool]:
    """The response after its status line, and whether the connection can be reused."""
    version, _, rest = status_line.decode("latin-1").partition(" ")
    status = int(rest[:3])
    raw = await reader.readuntil(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in raw.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body, keep = await reader.read(), False
    return Response(status, headers, body), keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
