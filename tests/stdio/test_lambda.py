"""`CLOUDMCP_STDIO` under the Lambda Runtime Interface Emulator: the handler starts the
child in the function's init phase and every warm invocation reuses it; a 2026-07-28
retry in a later invocation completes on the same child."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from stdio_serving import EVERYTHING, require

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "aws_lambda"))

import test_runtime_emulator as rie_support

pytestmark = pytest.mark.slow


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def node_processes(pids: set[int]) -> set[int]:
    named = set()
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "node":
                named.add(pid)
        except OSError:
            continue
    return named


def test_warm_invocations_reuse_the_child(tmp_path: Path) -> None:
    env = {"CLOUDMCP_STDIO": require(EVERYTHING)}
    with rie_support.emulator(tmp_path, **env) as rie:
        echo = {"name": "echo", "arguments": {"message": "cold"}}
        cold = rie.modern("function-url", "tools/call", echo)
        assert cold.last["result"]["content"][0]["text"] == "Echo: cold", rie.log_tail()
        emulator_pid = _emulator_pid(rie)
        [child] = node_processes(descendants(emulator_pid))

        for n in range(3):
            echo = {"name": "echo", "arguments": {"message": f"warm {n}"}}
            warm = rie.modern("http-api-v2", "tools/call", echo)
            assert warm.last["result"]["content"][0]["text"] == f"Echo: warm {n}"
        assert node_processes(descendants(emulator_pid)) == {child}
        assert rie.log.read_text().count("started (1 running)") == 1, rie.log_tail()


def test_a_retry_in_a_later_invocation_completes(tmp_path: Path) -> None:
    with rie_support.emulator(tmp_path, CLOUDMCP_STDIO=require(EVERYTHING)) as rie:
        call = {"name": "trigger-sampling-request", "arguments": {"prompt": "lambda?"}}
        first = rie.modern("function-url", "tools/call", call).last["result"]
        assert first["resultType"] == "input_required", first
        sampled = {
            "role": "assistant",
            "content": {"type": "text", "text": "from the next invocation"},
            "model": "m",
            "stopReason": "endTurn",
        }
        retry = {
            **call,
            "inputResponses": {"stdio-1": sampled},
            "requestState": first["requestState"],
        }
        done = rie.modern("function-url", "tools/call", retry).last["result"]
        assert done["resultType"] == "complete"
        assert "from the next invocation" in done["content"][0]["text"]


def _emulator_pid(rie: rie_support.Emulator) -> int:
    port = int(rie.url.split(":")[2].split("/")[0])
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(word.endswith(b"aws-lambda-rie") for word in words[:1]) and (
            f"127.0.0.1:{port}".encode() in words
        ):
            return int(cmdline.parent.name)
    raise AssertionError("the emulator's process was not found")
