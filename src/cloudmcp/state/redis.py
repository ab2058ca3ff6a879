"""The Redis `Store`: what lets any instance serve any request.

Each kind of state maps onto one Redis type: values are strings (`GETEX` reads and
touches in one round trip), sets are sets, event logs are Streams (`XADD MAXLEN`),
and rate-limit windows are sorted sets updated by one Lua script, so a hit is atomic
across instances. Every write sets an expiry in the same transaction or script, so no
key outlives its TTL even if the writer dies mid-request.

The same code serves a single Redis and a Redis Cluster: which one `REDIS_URL` names
is asked at the first connection (`CLUSTER INFO`), never configured. Every command,
transaction and script touches one key, or keys of one hash slot (see `keys.py`).

Connections per process: a command pool, plus one subscriber connection per shard
through which `SharedReader` waits for every blocked read at once.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import secrets
import time
from asyncio import Semaphore
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    MaxConnectionsError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cloudmcp.errors import StoreUnavailable
from cloudmcp.eventloop import running_loop
from cloudmcp.state.shared_reader import FETCH_COUNT, Link, SharedReader, Subscriptions
from cloudmcp.state.store import Event, Store

# Errors that mean "Redis is not there right now", as opposed to a bug in a command.
_OUTAGE = (
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,  # just restarted, still loading its data
    ReadOnlyError,  # a replica during failover
    ClusterDownError,  # a cluster between a master's loss and its replica's promotion
    SlotNotCoveredError,
    TryAgainError,  # a slot migrating
    MaxConnectionsError,
    OSError,
    TimeoutError,
)

# Streams longer than this are trimmed approximately (`MAXLEN ~`), which Redis does in
# whole radix-tree nodes and so much more cheaply; short ones (replies: cap 1) exactly.
_EXACT_TRIM_UP_TO = 100
# Append an event, set the log's expiry, and publish the event on the log's channel with
# the id it follows, so a reader that is up to date needs no round trip to take it.
# ARGV: publish command, cap, "~" or "=", ttl ms, data.
_APPEND = """
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local after = newest[1] and newest[1][1] or '0'
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], ARGV[2], '*', 'd', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call(ARGV[1], KEYS[1], after .. ' ' .. id .. ' ' .. ARGV[5])
return id
"""

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
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.max_connections = max_connections
        self.timeout = timeout
        #: Whether `url` names a Redis Cluster: known once connected.
        self.cluster: bool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Redis | RedisCluster | None = None
        self._opening: asyncio.Task[Redis | RedisCluster] | None = None
        self._links: _Links | None = None
        self._reader: SharedReader | None = None
        # A cluster client's node pools refuse rather than queue past their size: these
        # queue commands per node instead, `per_node` at a time.
        self._gates: dict[str, asyncio.Semaphore] | None = None
        self._per_node = max_connections

    # connections

    async def _redis(self) -> Redis | RedisCluster:
        client = self._client
        if client is not None and self._loop is running_loop():
            return client
        return await self._open()

    async def _open(self) -> Redis | RedisCluster:
        loop = running_loop()
        if self._opening is None or self._loop is not loop:
            # Connections belong to the loop that opened them; a platform that runs each
            # invocation in a new loop gets new ones rather than broken sockets.
            self._loop, self._client, self._reader = loop, None, None
            self._opening = loop.create_task(self._connect())
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        except BaseException:
            if opening.done() and self._opening is opening:
                self._opening = None  # try again on the next call
            raise

    async def _connect(self) -> Redis | RedisCluster:
        with _unavailable():
            single = Redis(connection_pool=self._pool())
            if not await _is_cluster(single):
                client: Redis | RedisCluster = single
                self.cluster = False
            else:
                await single.aclose(close_connection_pool=True)
                client = RedisCluster.from_url(
                    self.url,
                    max_connections=self.max_connections,
                    socket_timeout=self.timeout,
                    socket_connect_timeout=min(self.timeout, 2.0),
                    # MOVED, ASK, a failover, a node restarting: retried, with backoff,
                    # for up to a few seconds, on a freshly looked up topology.
                    retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), 6),
                    health_check_interval=30,
                )
                await client.initialize()
                self.cluster = True
                # The command budget is for the process, shared by the masters.
                shards = max(1, len(client.get_primaries()))
                self._per_node = max(2, -(-self.max_connections // shards))
                self._gates = {}
        self._links = _Links(self, client)
        self._reader = SharedReader(self._links, self._fetch, self.tail, timeout=self.timeout)
        self._client = client
        return client

    def _pool(self) -> BlockingConnectionPool:
        return BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.max_connections,
            # Waiting this long for a free connection means we are overloaded: fail.
            timeout=self.timeout,
            socket_timeout=self.timeout,
            socket_connect_timeout=min(self.timeout, 2.0),
            # One immediate retry: a pooled connection may have died with a Redis restart.
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )

    @contextlib.asynccontextmanager
    async def _guard(self, *keys: str) -> AsyncIterator[None]:
        """Turn outages into `StoreUnavailable`; on a cluster, also wait for a connection
        to the node of each key (every node without keys) within the budget."""
        try:
            if self._gates is None:
                yield
            elif len(keys) == 1:
                async with self._gate(keys[0]):
                    yield
            else:
                async with contextlib.AsyncExitStack() as stack:
                    for gate in self._gates_for(keys):
                        await stack.enter_async_context(gate)
                    yield
        except _OUTAGE as exc:
            raise StoreUnavailable(f"Redis is unavailable: {exc}") from exc

    def _gate(self, key: str) -> asyncio.Semaphore:
        client, gates = cast(RedisCluster, self._client), cast(dict[str, Semaphore], self._gates)
        name = client.nodes_manager.get_node_from_slot(client.keyslot(key)).name
        gate = gates.get(name)
        if gate is None:
            gate = gates[name] = asyncio.Semaphore(self._per_node)
        return gate

    def _gates_for(self, keys: tuple[str, ...]) -> list[asyncio.Semaphore]:
        """Gates taken in one order by everyone, so two callers never wait on each other."""
        client, gates = cast(RedisCluster, self._client), cast(dict[str, Semaphore], self._gates)
        if keys:
            for key in keys:
                self._gate(key)
            names = {client.nodes_manager.get_node_from_slot(client.keyslot(k)).name for k in keys}
        else:
            names = {node.name for node in client.get_primaries()}
            for name in names:
                gates.setdefault(name, asyncio.Semaphore(self._per_node))
        return [gates[name] for name in sorted(names)]

    def connections(self) -> dict[str, int]:
        """Open Redis connections of this process, by kind: `commands` (the pool, every
        node's on a cluster) and `subscribers` (one per shard with blocked readers)."""
        client = self._client
        commands = 0
        if isinstance(client, RedisCluster):
            commands = sum(len(node._connections) for node in client.get_nodes())
        elif client is not None:
            pool = client.connection_pool
            commands = len(pool._available_connections) + len(pool._in_use_connections)
        links = self._links.links() if self._links is not None else []
        return {"commands": commands, "subscribers": sum(link.alive for link in links)}

    # values

    async def get(self, key: str, *, touch: float | None = None) -> bytes | None:
        client = await self._redis()
        async with self._guard(key):
            if touch is None:
                value = await client.get(key)
            else:
                value = await client.getex(key, px=_ms(touch))
        # Never str: the pools do not decode responses.
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl: float, *, only_new: bool = False) -> bool:
        client = await self._redis()
        async with self._guard(key):
            done = await client.set(key, value, px=_ms(ttl), nx=only_new)
            return bool(done)

    async def swap(self, key: str, old: bytes, new: bytes, ttl: float) -> bool:
        client = await self._redis()
        async with self._guard(key):
            done = await client.eval(_SWAP, 1, key, old, new, _ms(ttl))
        return bool(done)

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        client = await self._redis()
        async with self._guard(*keys):
            # A cluster client splits keys of several slots into one DEL per slot.
            count: int = await client.delete(*keys)
            return count

    # sets

    async def add_member(self, key: str, member: str, ttl: float) -> None:
        client = await self._redis()
        async with self._guard(key), client.pipeline(transaction=True) as pipe:
            pipe.sadd(key, member)
            pipe.pexpire(key, _ms(ttl))
            await pipe.execute()

    async def remove_member(self, key: str, member: str) -> None:
        client = await self._redis()
        async with self._guard(key):
            await client.srem(key, member)

    async def members(self, key: str) -> builtins.set[str]:
        client = await self._redis()
        async with self._guard(key):
            found = await client.smembers(key)
        return {_text(member) for member in found}

    # event logs

    async def append(self, log: str, data: bytes, *, ttl: float, cap: int) -> str:
        client = await self._redis()
        publish = "SPUBLISH" if self.cluster else "PUBLISH"
        trim = "~" if cap > _EXACT_TRIM_UP_TO else "="
        async with self._guard(log):
            # EVAL, not EVALSHA: no NOSCRIPT round trip after a failover, and no SCRIPT
            # LOAD sent to every master outside the connection budget.
            event_id = await client.eval(_APPEND, 1, log, publish, cap, trim, _ms(ttl), data)
        return _text(event_id)

    async def read(self, after: Mapping[str, str], *, timeout: float) -> list[Event]:
        if not after:
            return []
        if timeout <= 0:
            return await self._fetch(after)
        await self._redis()  # connected: the reader exists
        return await cast(SharedReader, self._reader).read(after, timeout)

    async def _fetch(self, positions: Mapping[str, str]) -> list[Event]:
        """Events after each position, without blocking: one XREAD per hash slot."""
        client = await self._redis()
        async with self._guard(*positions):
            if not isinstance(client, RedisCluster):
                return _events(await client.xread(positions, count=FETCH_COUNT))  # type: ignore[arg-type]
            slots: dict[int, dict[Any, Any]] = {}
            for log, position in positions.items():
                slots.setdefault(client.keyslot(log), {})[log] = position
            if len(slots) == 1:
                return _events(await client.xread(positions, count=FETCH_COUNT))  # type: ignore[arg-type]
            async with client.pipeline(transaction=False) as pipe:
                for streams in slots.values():
                    pipe.xread(streams, count=FETCH_COUNT)
                replies = await pipe.execute()
        return [event for reply in replies for event in _events(reply)]

    async def tail(self, log: str) -> str:
        client = await self._redis()
        # A log this process follows already (`notifications`, for every new stream).
        known = self._reader.tail(log) if self._reader is not None else None
        if known is not None:
            return known
        async with self._guard(log):
            newest = await client.xrevrange(log, count=1)
        return _text(newest[0][0]) if newest else "0"

    # rate limits

    async def hit(self, key: str, *, window: float, limit: int) -> float:
        client = await self._redis()
        async with self._guard(key):
            wait = await client.eval(
                _HIT, 1, key, int(window * 1_000_000), limit, secrets.token_hex(4)
            )
        return int(wait) / 1_000_000

    # health

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(min(self.timeout, 2.0)):
                client = await self._redis()
                return bool(await client.ping())
        except (*_OUTAGE, RedisError, StoreUnavailable):
            return False

    async def close(self) -> None:
        client, links, reader = self._client, self._links, self._reader
        self._client = self._links = self._reader = None
        self._opening = None
        if reader is not None:
            await reader.close()
        if links is not None:
            await links.close()
        if client is not None:
            with contextlib.suppress(*_OUTAGE, RuntimeError):
                await client.aclose()


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """Redis being away, in whatever form, as the one exception callers handle."""
    try:
        yield
    except _OUTAGE as exc:
        raise StoreUnavailable(f"Redis is unavailable: {exc}") from exc


async def _is_cluster(client: Redis) -> bool:
    """Whether the server is in cluster mode: ElastiCache Serverless and Memorystore
    Cluster are, behind one address, as is any node of a self-run cluster."""
    try:
        await client.execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
    except ResponseError as exc:
        if "cluster support disabled" in str(exc).lower():
            return False
        # CLUSTER not allowed to this ACL user: INFO tells as well.
        info = await client.info("cluster")
        return bool(info.get("cluster_enabled"))
    return True


class _Links(Subscriptions):
    """Subscriber connections: one to a single Redis; one per master of a cluster, each
    subscribed to the channels of the slots it serves (sharded pub/sub)."""

    def __init__(self, store: RedisStore, client: Redis | RedisCluster) -> None:
        self._store = store
        self._client = client
        self._links: dict[str, Link] = {}
        self._opening: dict[str, asyncio.Task[Link]] = {}
        self._repaired = 0.0

    def links(self) -> list[Link]:
        return list(self._links.values())

    async def link_for(self, channels: list[str]) -> dict[Link, list[list[str]]]:
        client = self._client
        if not isinstance(client, RedisCluster):
            return {await self._link("single", None): [channels]}
        by_node: dict[str, tuple[Any, dict[int, list[str]]]] = {}
        for channel in channels:
            slot = client.keyslot(channel)
            node = client.nodes_manager.get_node_from_slot(slot)
            by_node.setdefault(node.name, (node, {}))[1].setdefault(slot, []).append(channel)
        found: dict[Link, list[list[str]]] = {}
        for name, (node, slots) in by_node.items():
            found[await self._link(name, node)] = list(slots.values())
        return found

    async def _link(self, name: str, node: Any) -> Link:
        link = self._links.get(name)
        if link is not None and link.alive:
            return link
        opening = self._opening.get(name)
        if opening is None:
            opening = self._opening[name] = asyncio.ensure_future(self._connect(name, node))
        try:
            return await asyncio.shield(opening)
        finally:
            if opening.done():
                self._opening.pop(name, None)

    async def _connect(self, name: str, node: Any) -> Link:
        if node is None:
            pool = cast(Redis, self._client).connection_pool
            kind, settings = pool.connection_class, pool.connection_kwargs
        else:
            kind, settings = node.connection_class, node.connection_kwargs
        # RESP2: published messages arrive as plain replies rather than push frames.
        connection = kind(**{**settings, "protocol": 2, "maint_notifications_config": None})
        with _unavailable():
            await connection.connect()  # type: ignore[no-untyped-call]
        reader = cast(SharedReader, self._store._reader)  # made before any link
        link = Link(
            connection,
            sharded=node is not None,
            on_message=reader.on_message,
            on_lost=reader.on_lost,
        )
        self._links[name] = link
        return link

    async def repair(self) -> None:
        client = self._client
        now = time.monotonic()
        if isinstance(client, RedisCluster) and now - self._repaired > 0.5:
            self._repaired = now
            with _unavailable():
                await client.nodes_manager.initialize()

    async def relocate(self) -> None:
        client = self._client
        if not isinstance(client, RedisCluster) or not self._links:
            return
        with _unavailable():
            await client.nodes_manager.initialize()
        self._repaired = time.monotonic()
        for name, link in list(self._links.items()):
            moved = {
                channel
                for channel in link.channels
                if client.nodes_manager.get_node_from_slot(client.keyslot(channel)).name != name
            }
            if moved:
                await link.unsubscribe([[channel] for channel in moved])
                link.lost(moved)

    async def close(self) -> None:
        links, self._links = list(self._links.values()), {}
        for link in links:
            await link.close()


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
