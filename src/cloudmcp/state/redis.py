"""The Redis `Store`: what lets any instance serve any request.

Each kind of state maps onto one Redis type: values are strings (`GETEX` reads and
touches in one round trip), sets are sets, event logs are Streams (`XADD MAXLEN`,
read with `XREAD BLOCK`), and rate-limit windows are sorted sets updated by one Lua
script, so a hit is atomic across instances. Every write sets an expiry in the same
transaction, so no key outlives its TTL even if the writer dies mid-request.

Two connection pools per process: short commands share one; each blocked `XREAD`
(an SSE stream, a listener, a wait for the client's answer) holds a connection of
its own for as long as it blocks, so those come from a second, larger pool and
never starve the commands that keep requests moving.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError, ReadOnlyError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cloudmcp.errors import StoreUnavailable
from cloudmcp.eventloop import running_loop
from cloudmcp.state.store import Event, Store

# Errors that mean "Redis is not there right now", as opposed to a bug in a command.
_OUTAGE = (
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,  # just restarted, still loading its data
    ReadOnlyError,  # a replica during failover
    OSError,
    TimeoutError,
)

# Streams longer than this are trimmed approximately (`MAXLEN ~`), which Redis does in
# whole radix-tree nodes and so much more cheaply; short ones (replies: cap 1) exactly.
_EXACT_TRIM_UP_TO = 100
# At most this many events per log per read: a reader far behind catches up in steps.
_READ_COUNT = 1000
# Extra seconds a blocked read may take beyond its BLOCK before the link counts as dead.
_READ_GRACE = 5.0

# One hit in a sliding window, atomically: drop hits older than the window, refuse when
# `limit` remain, else record this one. Redis's own clock times every instance's hits
# alike. Returns microseconds to wait (0: allowed); integers because Lua numbers come
# back from Redis truncated to integers.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
return 0
"""

# Compare and set: write only over the value the caller read, so of two instances
# changing one record from the same state, one wins and the other reads again.
_SWAP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


def _ms(seconds: float) -> int:
    """A TTL in milliseconds; never 0, which Redis rejects."""
    return max(1, int(seconds * 1000))


class RedisStore(Store):
    backend = "redis"

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 64,
        max_readers: int = 1000,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.max_connections = max_connections
        self.max_readers = max_readers
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._commands: Redis | None = None
        self._readers: Redis | None = None

    # connections

    def _pool(self, size: int, socket_timeout: float | None) -> BlockingConnectionPool:
        return BlockingConnectionPool.from_url(
            self.url,
            max_connections=size,
            # Waiting this long for a free connection means we are overloaded: fail.
            timeout=self.timeout,
            socket_timeout=socket_timeout,
            socket_connect_timeout=min(self.timeout, 2.0),
            # One immediate retry: a pooled connection may have died with a Redis restart.
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )

    def _clients(self) -> tuple[Redis, Redis]:
        loop = running_loop()
        if self._commands is None or self._readers is None or self._loop is not loop:
            # Connections belong to the loop that opened them; a platform that runs each
            # invocation in a new loop gets new pools rather than broken sockets.
            self._loop = loop
            self._commands = Redis(connection_pool=self._pool(self.max_connections, self.timeout))
            # A blocked XREAD waits on its socket by design: `read` bounds it instead.
            self._readers = Redis(connection_pool=self._pool(self.max_readers, None))
        return self._commands, self._readers

    @property
    def _redis(self) -> Redis:
        return self._clients()[0]

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        try:
            yield
        except _OUTAGE as exc:
            raise StoreUnavailable(f"Redis is unavailable: {exc}") from exc

    # values

    async def get(self, key: str, *, touch: float | None = None) -> bytes | None:
        async with self._guard():
            if touch is None:
                value = await self._redis.get(key)
            else:
                value = await self._redis.getex(key, px=_ms(touch))
        # Never str: the pools do not decode responses.
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl: float, *, only_new: bool = False) -> bool:
        async with self._guard():
            done = await self._redis.set(key, value, px=_ms(ttl), nx=only_new)
            return bool(done)

    async def swap(self, key: str, old: bytes, new: bytes, ttl: float) -> bool:
        async with self._guard():
            done = await self._redis.eval(_SWAP, 1, key, old, new, _ms(ttl))
        return bool(done)

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        async with self._guard():
            count: int = await self._redis.delete(*keys)
            return count

    # sets

    async def add_member(self, key: str, member: str, ttl: float) -> None:
        async with self._guard(), self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, member)
            pipe.pexpire(key, _ms(ttl))
            await pipe.execute()

    async def remove_member(self, key: str, member: str) -> None:
        async with self._guard():
            await self._redis.srem(key, member)

    async def members(self, key: str) -> builtins.set[str]:
        async with self._guard():
            found = await self._redis.smembers(key)
        return {_text(member) for member in found}

    # event logs

    async def append(self, log: str, data: bytes, *, ttl: float, cap: int) -> str:
        async with self._guard(), self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(log, {"d": data}, maxlen=cap, approximate=cap > _EXACT_TRIM_UP_TO)
            pipe.pexpire(log, _ms(ttl))
            event_id, _ = await pipe.execute()
            return _text(event_id)

    async def read(self, after: Mapping[str, str], *, timeout: float) -> list[Event]:
        if not after:
            return []
        streams: dict[Any, Any] = dict(after)
        _, readers = self._clients()
        block = _ms(timeout) if timeout > 0 else None
        async with self._guard():
            if block is None:
                reply = await self._redis.xread(streams, count=_READ_COUNT)
            else:
                # Bounded here, not by the socket: a dead link must not hang a stream.
                async with asyncio.timeout(timeout + _READ_GRACE):
                    reply = await readers.xread(streams, count=_READ_COUNT, block=block)
        return _events(reply)

    async def tail(self, log: str) -> str:
        async with self._guard():
            newest = await self._redis.xrevrange(log, count=1)
        return _text(newest[0][0]) if newest else "0"

    # rate limits

    async def hit(self, key: str, *, window: float, limit: int) -> float:
        async with self._guard():
            wait = await self._redis.eval(
                _HIT, 1, key, int(window * 1_000_000), limit, secrets.token_hex(4)
            )
        return int(wait) / 1_000_000

    # health

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(min(self.timeout, 2.0)):
                return bool(await self._redis.ping())
        except (*_OUTAGE, RedisError):
            return False

    async def close(self) -> None:
        commands, readers = self._commands, self._readers
        self._commands = self._readers = None
        for client in (commands, readers):
            if client is not None:
                with contextlib.suppress(*_OUTAGE, RuntimeError):
                    await client.aclose(close_connection_pool=True)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _events(reply: Any) -> list[Event]:
    """Events from an XREAD reply: RESP2 gives `[[log, entries]]`, RESP3 `{log: [entries]}`."""
    if not reply:
        return []
    if isinstance(reply, dict):
        pairs = [(log, wrapped[0]) for log, wrapped in reply.items()]
    else:
        pairs = reply
    return [
        Event(_text(log), _text(event_id), fields[b"d"])
        for log, entries in pairs
        for event_id, fields in entries
    ]
