"""One reader per process for every blocked `Store.read` on Redis.

A stream waiting for events holds no Redis connection of its own. Every append
publishes its event on a channel named after its log (sharded pub/sub on a cluster,
so the channel lives on the log's shard); this process subscribes once to each log
somebody here waits on, over one connection per shard, and hands each event to every
waiter in memory. A published event carries the id it follows, so a waiter that is
exactly up to date takes it as it comes; a waiter that is behind (it registered late,
a subscription was lost) is caught up by one non-blocking `XREAD` shared by every
waiter of that log. Connections per process are thus the command pool plus one per
shard, whatever the number of open streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from redis.exceptions import ResponseError

from cloudmcp.errors import StoreUnavailable
from cloudmcp.eventloop import running_loop
from cloudmcp.state.store import Event

#: A channel whose last waiter left stays subscribed this long, so a stream that reads
#: again at once (every SSE stream does, after each event) costs no round trip.
LINGER = 30.0
#: A subscriber connection is pinged, and a cluster's topology looked up, this often;
#: a subscriber connection silent for three periods is dead.
PING_EVERY = 5.0
#: Pub/sub delivers at most once: a log whose last event came this long ago is read
#: again when a waiter registers, in case a message went missing (a failover).
RECHECK = 30.0

Fetch = Callable[[dict[str, str]], Awaitable[list[Event]]]
Tail = Callable[[str], Awaitable[str]]


def order(event_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair: `"1732630000000-3"` is `(1732630000000, 3)`."""
    ms, _, seq = event_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return 0, 0


class _Retry:
    """A waiter's subscription was lost: subscribe again and look again."""


RETRY = _Retry()
_Outcome = list[Event] | _Retry | StoreUnavailable


class _Waiter:
    __slots__ = ("future", "positions")

    def __init__(self, positions: dict[str, str]) -> None:
        self.positions = positions
        self.future: asyncio.Future[_Outcome] = running_loop().create_future()

    def settle(self, outcome: _Outcome) -> None:
        if not self.future.done():
            self.future.set_result(outcome)


class Link:
    """One subscriber connection: to the single Redis, or to one shard of a cluster."""

    def __init__(
        self,
        connection: Any,
        *,
        sharded: bool,
        on_message: Callable[[str, bytes], None],
        on_lost: Callable[[Link, set[str]], None],
    ) -> None:
        self.connection = connection
        self.sharded = sharded
        self._subscribe = "SSUBSCRIBE" if sharded else "SUBSCRIBE"
        self._unsubscribe = "SUNSUBSCRIBE" if sharded else "UNSUBSCRIBE"
        self._on_message = on_message
        self._on_lost = on_lost
        #: Channels the server confirmed; those asked for and not yet confirmed.
        self.channels: set[str] = set()
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._leaving: set[str] = set()
        self.alive = True
        self._listener = asyncio.ensure_future(self._listen())

    async def subscribe(self, groups: Iterable[list[str]], timeout: float) -> None:
        """Subscribe to channels, one command per group (a group: one hash slot), and
        return once the server confirmed them all."""
        waits: list[asyncio.Future[None]] = []
        commands: list[tuple[str, ...]] = []
        loop = running_loop()
        for group in groups:
            fresh = [ch for ch in group if ch not in self.channels]
            for channel in fresh:
                self._leaving.discard(channel)
                if channel not in self._pending:
                    self._pending[channel] = loop.create_future()
                waits.append(self._pending[channel])
            if fresh:
                commands.append((self._subscribe, *fresh))
        if not waits:
            return
        await self.connection.send_packed_command(self.connection.pack_commands(commands))
        async with asyncio.timeout(timeout):
            # Shielded: another reader may wait for the same confirmation.
            await asyncio.gather(*(asyncio.shield(wait) for wait in waits))

    async def unsubscribe(self, groups: Iterable[list[str]]) -> None:
        commands = []
        for group in groups:
            self.channels.difference_update(group)
            self._leaving.update(group)
            commands.append((self._unsubscribe, *group))
        if commands:
            await self.connection.send_packed_command(self.connection.pack_commands(commands))

    def lost(self, channels: set[str]) -> None:
        """Channels this link no longer serves: their waiters subscribe again elsewhere."""
        self.channels -= channels
        self._on_lost(self, channels)

    async def ping(self) -> None:
        await self.connection.send_command("PING")

    async def _listen(self) -> None:
        # However the link breaks (closed, reset, silent), it is over: `_end` says so.
        with contextlib.suppress(Exception):
            await self._receive()
        self._end()

    async def _receive(self) -> None:
        while True:
            try:
                reply = await self.connection.read_response(timeout=PING_EVERY * 3)
                if reply is None:  # not even the answer to a ping: the link is dead
                    raise TimeoutError("Redis subscriber connection silent")
            except ResponseError as exc:
                # A subscription refused (MOVED: the slot moved): whoever waits on
                # it looks up the topology again and retries.
                self._fail_pending(StoreUnavailable(f"Redis refused a subscription: {exc}"))
                continue
            if not isinstance(reply, list) or not reply:
                continue
            kind = _text(reply[0])
            if kind in ("message", "smessage"):
                self._on_message(_text(reply[1]), reply[2])
            elif kind in ("subscribe", "ssubscribe"):
                channel = _text(reply[1])
                self.channels.add(channel)
                waiting = self._pending.pop(channel, None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(None)
            elif kind in ("unsubscribe", "sunsubscribe") and reply[1] is not None:
                channel = _text(reply[1])
                if channel in self._leaving:
                    self._leaving.discard(channel)
                elif channel in self.channels:
                    # Not asked for: the slot moved or this node stopped being its
                    # master. Its waiters subscribe again, wherever it lives now.
                    self.channels.discard(channel)
                    self._on_lost(self, {channel})

    def _fail_pending(self, error: BaseException) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: whoever awaits it sees it, nobody else

    def _end(self) -> None:
        if not self.alive:
            return
        self.alive = False
        lost = self.channels | set(self._pending)
        self.channels = set()
        self._fail_pending(StoreUnavailable("Redis subscriber connection lost"))
        self._on_lost(self, lost)

    async def close(self) -> None:
        self.alive = False
        self._listener.cancel()
        with contextlib.suppress(BaseException):
            await self._listener
        self._fail_pending(StoreUnavailable("closed"))
        with contextlib.suppress(Exception):
            await self.connection.disconnect()


class Subscriptions(ABC):
    """How the reader reaches the publishers: which link serves a channel, and grouping
    channels per hash slot. Provided by the Redis store, which knows the topology."""

    @abstractmethod
    async def link_for(self, channels: list[str]) -> dict[Link, list[list[str]]]:
        """Channels by the link that may subscribe to them, grouped by slot."""

    @abstractmethod
    async def repair(self) -> None:
        """Look the topology up again after a link or a subscription failed."""

    @abstractmethod
    async def relocate(self) -> None:
        """Look the topology up; end subscriptions held on a node that no longer serves
        their slot (a failover made it a replica), so their waiters subscribe again."""

    @abstractmethod
    def links(self) -> list[Link]: ...


class SharedReader:
    """Every blocked read of one process, served by one subscription per log."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        fetch: Fetch,
        tail: Tail,
        *,
        timeout: float,
    ) -> None:
        self._subscriptions = subscriptions
        self._fetch = fetch
        self._tail = tail
        self._timeout = timeout
        self._waiting: dict[str, set[_Waiter]] = {}
        # Per subscribed log, a position after which every event is published to us,
        # and when that was last confirmed.
        self._seen: dict[str, tuple[int, int]] = {}
        self._confirmed: dict[str, float] = {}
        # Logs nobody waits on any more, since when: unsubscribed after LINGER.
        self._idle: dict[str, float] = {}
        self._stale: set[str] = set()
        self._fetching: asyncio.Task[None] | None = None
        self._housekeeping: asyncio.Task[None] | None = None

    # waiters

    async def read(self, after: Mapping[str, str], timeout: float) -> list[Event]:
        loop = running_loop()
        deadline = loop.time() + timeout
        positions = {
            log: (await self._tail(log) if last == "$" else last) for log, last in after.items()
        }
        waiter = _Waiter(positions)
        try:
            while True:
                await self._subscribe(list(positions))
                self._register(waiter)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                try:
                    async with asyncio.timeout(remaining):
                        outcome = await waiter.future
                except TimeoutError:
                    return []
                if isinstance(outcome, list):
                    return outcome
                if isinstance(outcome, StoreUnavailable):
                    raise outcome
                waiter.future = loop.create_future()  # RETRY
        finally:
            self._unregister(waiter)

    def _register(self, waiter: _Waiter) -> None:
        now = time.monotonic()
        for log, position in waiter.positions.items():
            self._waiting.setdefault(log, set()).add(waiter)
            self._idle.pop(log, None)
            if (
                self._seen.get(log) != order(position)
                or now - self._confirmed.get(log, 0.0) > RECHECK
            ):
                self._stale.add(log)
        if self._stale:
            self._kick()

    def _unregister(self, waiter: _Waiter) -> None:
        now = time.monotonic()
        for log in waiter.positions:
            waiters = self._waiting.get(log)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiting[log]
                    self._idle[log] = now

    async def _subscribe(self, logs: list[str]) -> None:
        missing = [log for log in logs if log not in self._seen and not self._subscribed(log)]
        if not missing:
            return
        self._start_housekeeping()
        for attempt in range(3):
            try:
                by_link = await self._subscriptions.link_for(missing)
                for link, groups in by_link.items():
                    await link.subscribe(groups, self._timeout)
                return
            except (StoreUnavailable, OSError, TimeoutError) as exc:
                if attempt == 2:
                    raise StoreUnavailable(f"Redis subscription failed: {exc}") from exc
                await asyncio.sleep(0.05 * 4**attempt)
                await self._subscriptions.repair()

    def _subscribed(self, log: str) -> bool:
        return any(link.alive and log in link.channels for link in self._subscriptions.links())

    # events

    def on_message(self, log: str, payload: bytes) -> None:
        """A published event: `previous id`, `id`, data, separated by spaces."""
        previous, _, rest = payload.partition(b" ")
        event_id, _, data = rest.partition(b" ")
        after, this = order(previous.decode()), order(event_id.decode())
        known = self._seen.get(log)
        if known is not None and this <= known:
            return  # already fetched
        self._seen[log] = this
        self._confirmed[log] = time.monotonic()
        event = Event(log, event_id.decode(), data)
        for waiter in self._waiting.get(log, ()):
            if waiter.future.done():
                continue
            at = order(waiter.positions[log])
            if at == after:
                waiter.settle([event])
            elif at < after:
                self._stale.add(log)
        if self._stale:
            self._kick()

    def tail(self, log: str) -> str | None:
        """A position to read `log` after, from memory, when this reader is subscribed to
        it: every event after it is yet to be published, so nothing old comes back and
        nothing new is missed. None when unknown."""
        seen = self._seen.get(log)
        if seen is None or time.monotonic() - self._confirmed.get(log, 0.0) > RECHECK:
            return None
        return f"{seen[0]}-{seen[1]}"

    def on_lost(self, link: Link, channels: set[str]) -> None:
        """A link ended or lost subscriptions: their waiters subscribe again."""
        for channel in channels:
            self._seen.pop(channel, None)
            self._confirmed.pop(channel, None)
            for waiter in self._waiting.get(channel, ()):
                waiter.settle(RETRY)

    def _kick(self) -> None:
        if self._fetching is None or self._fetching.done():
            self._fetching = asyncio.ensure_future(self._catch_up())
        self._start_housekeeping()

    async def _catch_up(self) -> None:
        """Fetch what waiters behind their log's newest published event are missing."""
        while self._stale:
            logs, self._stale = self._stale, set()
            positions: dict[str, str] = {}
            for log in logs:
                behind = [
                    w.positions[log] for w in self._waiting.get(log, ()) if not w.future.done()
                ]
                if behind:
                    positions[log] = min(behind, key=order)
            if not positions:
                continue
            try:
                events = await self._fetch(positions)
            except Exception as exc:
                failure = exc if isinstance(exc, StoreUnavailable) else StoreUnavailable(str(exc))
                for log in positions:
                    for waiter in self._waiting.get(log, ()):
                        waiter.settle(failure)
                continue
            self._deliver(positions, events)

    def _deliver(self, positions: dict[str, str], events: list[Event]) -> None:
        found: dict[str, list[Event]] = {}
        for event in events:
            found.setdefault(event.log, []).append(event)
        for log, start in positions.items():
            logged = found.get(log, [])
            if len(logged) >= FETCH_COUNT:
                self._stale.add(log)  # more to come: fetch again from where waiters are
            elif self._subscribed(log):
                newest = order(logged[-1].id) if logged else order(start)
                if newest >= self._seen.get(log, (-1, -1)):
                    self._seen[log] = newest
                    self._confirmed[log] = time.monotonic()
        touched: set[_Waiter] = set()
        for log in positions:
            touched.update(self._waiting.get(log, ()))
        for waiter in touched:
            if waiter.future.done():
                continue
            mine = [
                event
                for log, at in waiter.positions.items()
                for event in found.get(log, ())
                if order(event.id) > order(at)
            ]
            if mine:
                waiter.settle(mine)

    # housekeeping

    def _start_housekeeping(self) -> None:
        if self._housekeeping is None or self._housekeeping.done():
            self._housekeeping = asyncio.ensure_future(self._keep())

    async def _keep(self) -> None:
        """Ping every link, and unsubscribe from logs nobody waited on for a while."""
        while True:
            await asyncio.sleep(PING_EVERY)
            if not any(link.alive for link in self._subscriptions.links()):
                return
            now = time.monotonic()
            idle = [log for log, since in self._idle.items() if now - since >= LINGER]
            for log in idle:
                del self._idle[log]
                self._seen.pop(log, None)
                self._confirmed.pop(log, None)
            with contextlib.suppress(Exception):
                await self._subscriptions.relocate()
            with contextlib.suppress(Exception):
                if idle:
                    by_link = await self._subscriptions.link_for(idle)
                    for link, groups in by_link.items():
                        if link.alive:
                            await link.unsubscribe(groups)
                for link in self._subscriptions.links():
                    if link.alive:
                        await link.ping()

    async def close(self) -> None:
        for task in (self._fetching, self._housekeeping):
            if task is not None:
                task.cancel()
        for waiters in self._waiting.values():
            for waiter in waiters:
                waiter.settle(StoreUnavailable("the store is closing"))


#: At most this many events per log per fetch: a reader far behind catches up in steps.
FETCH_COUNT = 1000


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
