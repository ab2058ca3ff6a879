"""Three instances of each framework's fixture on one Redis, behind nginx round robin: a
legacy session (its asks answered on whichever instance the answer lands) and a
2026-07-28 MRTR retry (sealed `requestState`, answered by another instance) both work.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloudmcp_serving import Served
from framework_calls import client, text_of
from frameworks import Framework
from redis_support import REDIS_URL, delete_prefix, require_redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "multi_instance"))
from instances import Nginx, run_nginx, state_key

pytestmark = [pytest.mark.integration, pytest.mark.frameworks]


@pytest.fixture(scope="module")
def cluster(
    framework: Framework, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[Served], Nginx]]:
    require_redis()
    work = tmp_path_factory.mktemp(f"{framework.name}-cluster")
    prefix = f"cloudmcp-test:{secrets.token_hex(6)}:"
    env = {"REDIS_URL": REDIS_URL, "KEY_PREFIX": prefix, "STATE_KEYS": state_key("k1")}
    with contextlib.ExitStack() as stack:
        instances = []
        for i in range(3):
            serve = contextlib.contextmanager(framework.serve)
            log = work / f"instance-{i + 1}.log"
            instances.append(stack.enter_context(serve(log, env=env | {"INSTANCE_ID": str(i)})))
        for nginx in run_nginx([_Upstream(served) for served in instances], work / "nginx"):
            yield instances, nginx
    asyncio.run(delete_prefix(prefix))


class _Upstream:
    """What `run_nginx` needs of an instance: its port."""

    port: int

    def __init__(self, served: Served) -> None:
        self.port = int(served.url.rsplit(":", 1)[1].split("/")[0])


def upstreams(nginx: Nginx) -> Counter[str]:
    lines = (nginx.dir / "upstreams.log").read_text().splitlines()
    return Counter(line.split()[0] for line in lines if line.strip())


def _logs(instances: list[Served]) -> str:
    return "\n".join(served.log_tail(20) for served in instances)


async def test_a_legacy_session_and_an_mrtr_retry_cross_instances(
    cluster: tuple[list[Served], Nginx],
) -> None:
    instances, nginx = cluster
    before = upstreams(nginx)

    async with client(nginx.url, "legacy") as session:
        answers = [
            text_of(await session.call_tool("test_elicitation", {"message": "Who?"}))
            for _ in range(3)
        ]
        added = text_of(await session.call_tool("add", {"a": 40, "b": 2}))
    assert (
        answers
        == ['User response: action=accept, content={"username": "ada", "email": "ada@x.io"}'] * 3
    ), _logs(instances)
    assert added == "42"

    async with client(nginx.url, "2026-07-28") as session:
        for _ in range(3):
            result = await session.call_tool("test_input_required_result_elicitation", {})
            assert text_of(result) == "Hello, ada!", _logs(instances)
        roots = await session.call_tool("test_input_required_result_list_roots", {})
        assert text_of(roots) == "Found 1 root(s)"

    served_by = upstreams(nginx) - before
    assert len(served_by) == 3, served_by  # every instance took part
