"""2026-07-28 on the wire: a child's sampling request becomes an `InputRequiredResult`,
and the retry, carrying the answer, re-sends the call to a child that asks again and
this time gets the answer (docs/stdio.md: re-run semantics)."""

from __future__ import annotations

import httpx
from cloudmcp_serving import Served
from wire import modern

SAMPLED = {
    "role": "assistant",
    "content": {"type": "text", "text": "forty-two"},
    "model": "wire-model",
    "stopReason": "endTurn",
}


def test_a_childs_question_becomes_input_required_and_the_retry_completes(
    everything: Served,
) -> None:
    call = {"name": "trigger-sampling-request", "arguments": {"prompt": "the answer?"}}
    with httpx.Client(timeout=20) as http:
        first = modern(http, everything.url, "tools/call", call).json()["result"]
        assert first["resultType"] == "input_required"
        [(key, request)] = first["inputRequests"].items()
        assert key == "stdio-1"
        assert request["method"] == "sampling/createMessage"
        assert request["params"]["messages"][0]["content"]["text"] == (
            "Resource trigger-sampling-request context: the answer?"
        )
        retry = {**call, "inputResponses": {key: SAMPLED}, "requestState": first["requestState"]}
        done = modern(http, everything.url, "tools/call", retry, id=2).json()["result"]
    assert done["resultType"] == "complete"
    assert "forty-two" in done["content"][0]["text"]


def test_a_retry_with_a_forged_answer_key_asks_again(everything: Served) -> None:
    call = {"name": "trigger-sampling-request", "arguments": {"prompt": "again?"}}
    with httpx.Client(timeout=20) as http:
        first = modern(http, everything.url, "tools/call", call).json()["result"]
        retry = {
            **call,
            "inputResponses": {"not-asked": SAMPLED},
            "requestState": first["requestState"],
        }
        second = modern(http, everything.url, "tools/call", retry, id=2).json()["result"]
    assert second["resultType"] == "input_required"
    assert list(second["inputRequests"]) == ["stdio-1"]


def test_a_client_without_sampling_gets_the_childs_own_answer(everything: Served) -> None:
    call = {
        "name": "trigger-sampling-request",
        "arguments": {"prompt": "x"},
        "_meta": {"io.modelcontextprotocol/clientCapabilities": {}},
    }
    with httpx.Client(timeout=20) as http:
        answer = modern(http, everything.url, "tools/call", call).json()["result"]
    # The bridge refuses the child's request for the client (-32021); the child decides
    # what its tool makes of that: server-everything fails the call with the error.
    assert answer["resultType"] == "complete"
    assert answer["isError"] is True
    assert "-32021" in answer["content"][0]["text"]
