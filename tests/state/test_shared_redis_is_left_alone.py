"""The Redis on 127.0.0.1:6379 is shared by everything on the machine: no test stops,
flushes or reconfigures it. A test that needs to do that to a Redis starts its own
`redis-server` on a free port (test_redis_restart.py) and names that port every time.

This reads the tests' source: a destructive command aimed at the shared Redis is a defect
in a test, found before it runs.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
#: Commands that stop, empty or reconfigure a Redis, as redis-cli words or client methods.
DESTRUCTIVE = re.compile(
    r"""["'](shutdown|flushall|flushdb|failover|replicaof|slaveof)["']"""
    r"""|["']config["'],\s*["'](set|rewrite|resetstat)["']"""
    r"""|["']debug["'],\s*["'](sleep|restart|crash|segfault)["']"""
    r"""|\.(flushall|flushdb|config_set|config_rewrite|debug_sleep|shutdown|replicaof)\("""
    r"""|redis-cli[^\n]*\b(shutdown|flushall|flushdb|config set|debug sleep)\b""",
    re.IGNORECASE,
)
#: Whose `.shutdown()` is not Redis's; and Redis Clusters, which are always a test's own
#: (the shared Redis is a single node).
NOT_REDIS = re.compile(r"(httpd|server|executor|pool|loop)\.shutdown\(|cluster", re.IGNORECASE)


def offending_lines(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        if DESTRUCTIVE.search(line) and not NOT_REDIS.search(line):
            found.append(line.strip())
    return found


def test_no_test_stops_flushes_or_reconfigures_the_shared_redis() -> None:
    offenders = {
        str(path.relative_to(TESTS)): lines
        for path in TESTS.rglob("*.py")
        if path.name != Path(__file__).name
        and (lines := offending_lines(path.read_text(errors="replace")))
    }
    assert offenders == {}, "use a redis-server of the test's own, on a free port"


def test_the_check_sees_what_the_old_restart_test_did() -> None:
    old = 'subprocess.run(["redis-cli", "shutdown", "nosave"], capture_output=True)'
    assert offending_lines(old) == [old]
    assert offending_lines("await client.flushall()") == ["await client.flushall()"]
    assert offending_lines("redis-cli -p 6379 config set maxmemory 1mb") != []
    assert offending_lines('["redis-cli", "config", "set", "save", ""]') != []
    assert offending_lines("httpd.shutdown()") == []
    assert offending_lines('replica.cli("cluster", "failover")') == []
    assert offending_lines('["redis-cli", "-p", "6379", "failover"]') != []
    assert offending_lines('LOG_LEVEL="DEBUG"') == []
