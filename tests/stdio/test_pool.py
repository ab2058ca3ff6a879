"""The pool, in-process, with real children (`@modelcontextprotocol/server-everything`):
reuse, the size limit, isolation per principal, and replacing children that die or hang."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest
from stdio_serving import EVERYTHING, require

from cloudmcp.errors import MCPError
from cloudmcp.protocol.errors import SERVICE_UNAVAILABLE
from cloudmcp.stdio import child as child_module
from cloudmcp.stdio.child import Child, ChildExited
from cloudmcp.stdio.pool import Pool


async def _ignore(child: Child, method: str, params: dict[str, Any]) -> None:
    return None


def _pool(**options: Any) -> Pool:
    return Pool([require(EVERYTHING)], _ignore, **options)


async def test_a_child_is_reused_across_leases() -> None:
    pool = _pool(size=2)
    try:
        async with pool.lease() as first:
            assert first.version == "2025-11-25"
            assert (
                await first.request("tools/call", {"name": "echo", "arguments": {"message": "a"}})
            )["content"][0]["text"] == "Echo: a"
        async with pool.lease() as second:
            assert second is first
        assert pool.started == 1
    finally:
        await pool.close()
    assert not first.alive


async def test_the_pool_never_runs_more_than_its_size() -> None:
    pool = _pool(size=2, wait_timeout=0.5)
    try:
        async with pool.lease() as one, pool.lease() as two:
            assert one is not two
            with pytest.raises(MCPError) as refused:
                async with pool.lease():
                    pass
            assert refused.value.code == SERVICE_UNAVAILABLE
            assert refused.value.status == 503
            assert "busy" in refused.value.message
        async with pool.lease() as three:  # a freed child serves the next caller
            assert three in (one, two)
        assert pool.started == 2
    finally:
        await pool.close()


async def test_waiting_callers_get_the_freed_child_in_turn() -> None:
    pool = _pool(size=1, wait_timeout=10)
    served: list[tuple[int, Child]] = []

    async def caller(n: int) -> None:
        async with pool.lease() as child:
            served.append((n, child))
            await asyncio.sleep(0.05)

    try:
        async with pool.lease() as held:
            waiters = [asyncio.ensure_future(caller(n)) for n in range(3)]
            await asyncio.sleep(0.2)
            assert not any(w.done() for w in waiters)
        await asyncio.wait_for(asyncio.gather(*waiters), 10)
        assert served == [(0, held), (1, held), (2, held)]
        assert pool.started == 1
    finally:
        await pool.close()


async def test_isolation_gives_each_principal_its_own_children() -> None:
    pool = _pool(size=2, isolate=True)
    try:
        async with pool.lease("alice") as alice:
            pass
        async with pool.lease("bob") as bob:
            assert bob is not alice
        async with pool.lease("alice") as again:
            assert again is alice
        # Full: carol's child replaces an idle child of someone else, never shares one.
        async with pool.lease("carol") as carol:
            assert carol not in (alice, bob)
            assert carol.owner == "carol"
        assert len(pool.children) == 2
        owners = {child.owner for child in pool.children}
        assert "carol" in owners and len(owners) == 2
    finally:
        await pool.close()


async def test_without_isolation_principals_share_children() -> None:
    pool = _pool(size=2, isolate=False)
    try:
        async with pool.lease("alice") as alice:
            pass
        async with pool.lease("bob") as bob:
            assert bob is alice
    finally:
        await pool.close()


async def test_a_child_killed_mid_request_fails_it_and_is_replaced() -> None:
    pool = _pool(size=1)
    try:
        async with pool.lease() as doomed:
            params = {"name": "trigger-long-running-operation", "arguments": {"duration": 10}}
            call = asyncio.ensure_future(doomed.request("tools/call", params))
            await asyncio.sleep(0.3)
            os.kill(doomed.pid, signal.SIGKILL)
            with pytest.raises(ChildExited, match="exited"):
                await asyncio.wait_for(call, 10)
        assert not doomed.alive
        async with pool.lease() as fresh:
            assert fresh is not doomed
            answer = await fresh.request(
                "tools/call", {"name": "echo", "arguments": {"message": "b"}}
            )
            assert answer["content"][0]["text"] == "Echo: b"
        assert pool.started == 2
    finally:
        await pool.close()


async def test_a_hung_child_is_stopped_when_it_no_longer_answers_pings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(child_module, "PING_TIMEOUT", 0.5)
    pool = _pool(size=1)
    try:
        async with pool.lease() as hung:
            assert await hung.check()  # answering: kept
            os.kill(hung.pid, signal.SIGSTOP)
            assert not await hung.check()
            assert not hung.alive
        async with pool.lease() as fresh:
            assert fresh is not hung and fresh.alive
    finally:
        await pool.close()


async def test_a_command_that_cannot_start_is_a_clear_error() -> None:
    pool = Pool(["/nonexistent/mcp-server"], _ignore, size=1)
    with pytest.raises(MCPError, match="could not start: cannot start '/nonexistent/mcp-server'"):
        async with pool.lease():
            pass
    await pool.close()


async def test_a_command_that_is_no_mcp_server_is_a_clear_error() -> None:
    pool = Pool(["/bin/sh", "-c", "echo not json; exit 3"], _ignore, size=1)
    with pytest.raises(MCPError, match=r"could not start: the stdio server exited \(code \d+\)"):
        async with pool.lease():
            pass
    await pool.close()


async def test_a_shared_child_serves_several_calls_at_once() -> None:
    pool = _pool(size=1, share=2, wait_timeout=0.5)
    try:
        async with pool.lease() as one, pool.lease() as two:
            assert one is two
            echo = {"name": "echo", "arguments": {"message": "both"}}
            answers = await asyncio.gather(
                one.request("tools/call", echo), two.request("tools/call", echo)
            )
            assert [a["content"][0]["text"] for a in answers] == ["Echo: both"] * 2
            with pytest.raises(MCPError, match="busy"):
                async with pool.lease():
                    pass
        assert pool.started == 1
    finally:
        await pool.close()
