"""Rate limiting per client: a token bucket per client address, answered with 429 and
Retry-After when empty. Off unless `TAMALES_API_RATE_LIMIT` sets a rate.

Litestar's own `RateLimitConfig` keeps every request's timestamp of the window in its store and
re-encodes that list on each request (cost grows with the limit) and sends no `Retry-After`; a
bucket costs the same at any rate. Buckets live in this process (one uvicorn process serves).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Receive, Scope, Send

# Probes must never be throttled: /health answers from memory.
EXEMPT_PATHS = frozenset({"/health"})
MAX_CLIENTS = 100_000  # buckets kept; the least recently seen client is forgotten first


class TokenBuckets:
    """`requests` per `period` seconds per client, in bursts of up to `requests`."""

    def __init__(
        self,
        requests: int,
        period: float,
        *,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests = requests
        self.period = period
        self.rate = requests / period  # tokens per second
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str) -> float:
        """Take a token for `client`: 0.0 when granted, else the seconds until one is free.

        Called on the event loop only (no lock): nothing else touches the buckets.
        """
        now = self._clock()
        tokens, last = self._buckets.pop(client, (float(self.requests), now))
        tokens = min(float(self.requests), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    """ASGI middleware: a request over its client's rate is a 429 with `Retry-After` (whole
    seconds) and `RateLimit-Policy`; the client is the peer address (uvicorn puts the address
    from `X-Forwarded-For` there for trusted proxies, by default 127.0.0.1)."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets
        self.policy = f"{buckets.requests};w={buckets.period:g}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in EXEMPT_PATHS:
            client = scope.get("client")
            wait = self.buckets.take(client[0] if client else "unknown")
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                raise TooManyRequestsException(
                    detail=(
                        f"rate limit of {self.buckets.requests} requests per "
                        f"{self.buckets.period:g} s exceeded; retry after {retry_after} s"
                    ),
                    headers={"Retry-After": str(retry_after), "RateLimit-Policy": self.policy},
                )
        await self.app(scope, receive, send)
