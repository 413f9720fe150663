"""Usage arithmetic and the per-node UsageLog (threads, asyncio, merge, round trip)."""

from __future__ import annotations

import asyncio
import json
import threading

from optiagent.agent.llm import ChatReply, Usage, UsageLog
from optiagent.testing import ScriptedModel


def _reply(prompt: int, completion: int, latency: float = 0.5, cached: bool = False) -> ChatReply:
    return ChatReply("x", "m", prompt, completion, latency, cached)


def test_usage_adds_field_by_field() -> None:
    total = Usage.of(_reply(10, 5)) + Usage.of(_reply(3, 2, 0.25, cached=True))
    assert total == Usage(
        calls=2,
        prompt_tokens=13,
        completion_tokens=7,
        latency_s=0.75,
        cached_calls=1,
        cached_prompt_tokens=3,
        cached_completion_tokens=2,
    )
    assert total.total_tokens == 20
    assert total.billed_tokens == 15


def test_log_groups_by_node_and_totals() -> None:
    log = UsageLog()
    log.record("formulate", _reply(100, 50))
    log.record("repair", _reply(80, 40))
    log.record("formulate", _reply(20, 10))
    assert list(log.by_node()) == ["formulate", "repair"]
    assert log.by_node()["formulate"] == Usage(2, 120, 60, 1.0)
    assert log.totals() == Usage(3, 200, 100, 1.5)


def test_merge_adds_another_log() -> None:
    run, problem = UsageLog(), UsageLog()
    run.record("formulate", _reply(1, 1))
    problem.record("formulate", _reply(2, 2))
    problem.record("answer", _reply(3, 3))
    run.merge(problem)
    assert run.by_node()["formulate"].prompt_tokens == 3
    assert run.by_node()["answer"].calls == 1
    assert problem.totals().calls == 2  # the merged log is unchanged


def test_to_dict_is_json_and_round_trips() -> None:
    log = UsageLog()
    log.record("formulate", _reply(7, 3, 0.123456789))
    data = json.loads(json.dumps(log.to_dict()))
    assert data["totals"]["total_tokens"] == 10
    assert data["by_node"]["formulate"]["latency_s"] == 0.123457
    again = UsageLog.from_dict(data)
    assert again.by_node()["formulate"].prompt_tokens == 7


def test_concurrent_records_from_threads_are_not_lost() -> None:
    log = UsageLog()

    def work(node: str) -> None:
        for _ in range(500):
            log.record(node, _reply(1, 2, 0.0))

    threads = [threading.Thread(target=work, args=(f"n{i % 3}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.totals().calls == 4000
    assert log.totals().completion_tokens == 8000


def test_concurrent_records_from_tasks() -> None:
    log = UsageLog()
    model = log.track(ScriptedModel(["a"] * 50), "answer")

    async def run() -> None:
        await asyncio.gather(
            *(model.acomplete([{"role": "user", "content": "q"}]) for _ in range(50))
        )

    asyncio.run(run())
    assert log.by_node()["answer"].calls == 50


def test_track_records_sync_calls_under_the_node() -> None:
    log = UsageLog()
    inner = ScriptedModel(["hello"], name="inner")
    tracked = log.track(inner, "explain")
    reply = tracked.complete([{"role": "user", "content": "hi"}], temperature=0.0, seed=1)
    assert reply.text == "hello"
    assert tracked.name == "inner"
    assert inner.requests[0].seed == 1
    assert log.by_node()["explain"] == Usage.of(reply)
