"""ResponseCache: keys, the caching policy, persistence, threads, processes, and its use by
OpenAIChatModel."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from optiagent.agent.llm import ChatReply, JsonSchema, OpenAIChatModel, ResponseCache
from optiagent.agent.llm.cache import cache_key, is_cacheable
from optiagent.exceptions import ConfigurationError
from optiagent.testing import OpenAIStubServer

ASK = [{"role": "user", "content": "q"}]
BASE: dict[str, Any] = {
    "model": "m",
    "base_url": "http://127.0.0.1:1/v1",
    "messages": ASK,
    "response_schema": None,
    "temperature": None,
    "seed": None,
}


def test_key_depends_on_every_input() -> None:
    reference = cache_key(**BASE)
    variants = [
        {"model": "m2"},
        {"base_url": "http://127.0.0.1:2/v1"},
        {"messages": [{"role": "user", "content": "q2"}]},
        {"messages": [{"role": "system", "content": "q"}]},
        {"response_schema": JsonSchema("S", {"type": "object"})},
        {"temperature": 0.0},
        {"seed": 1},
        {"extra": {"top_k": 5}},
    ]
    keys = {cache_key(**{**BASE, **change}) for change in variants}
    assert reference not in keys
    assert len(keys) == len(variants)


def test_key_is_stable_across_dict_order_and_trailing_slash() -> None:
    a = cache_key(**{**BASE, "messages": [{"role": "user", "content": "q"}]})
    b = cache_key(**{**BASE, "messages": [{"content": "q", "role": "user"}]})
    c = cache_key(**{**BASE, "base_url": "http://127.0.0.1:1/v1/"})
    assert a == b == c
    assert len(a) == 64


@pytest.mark.parametrize(
    ("temperature", "seed", "expected"),
    [(None, None, True), (0.0, None, True), (0.7, None, False), (0.7, 3, True), (1.0, 0, True)],
)
def test_only_reproducible_requests_are_cacheable(
    temperature: float | None, seed: int | None, expected: bool
) -> None:
    assert is_cacheable(temperature, seed) is expected


def test_put_get_round_trip_and_persistence(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.sqlite"
    cache = ResponseCache(path)
    assert cache.get("k") is None
    cache.put("k", ChatReply("text", "m", 5, 7, 1.5, finish_reason="length"))
    cache.close()
    again = ResponseCache(path)
    hit = again.get("k")
    assert hit is not None
    assert (hit.text, hit.model, hit.prompt_tokens, hit.completion_tokens) == ("text", "m", 5, 7)
    assert hit.cached is True and hit.finish_reason == "length"
    assert hit.latency_s < 1.0
    assert len(again) == 1
    again.clear()
    assert len(again) == 0


def test_unusable_path_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot open the response cache"):
        ResponseCache(tmp_path)  # a directory


def test_threads_share_one_cache(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")

    def work(worker: int) -> None:
        for i in range(50):
            cache.put(f"{worker}-{i}", ChatReply(f"r{worker}-{i}", "m"))
            assert cache.get(f"{worker}-{i}") is not None

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 300


_WRITER = """
import sys
from optiagent.agent.llm import ChatReply, ResponseCache
cache = ResponseCache(sys.argv[1])
for i in range(200):
    cache.put(f"{sys.argv[2]}-{i}", ChatReply("x" * 100, "m", 1, 1))
"""


def test_several_processes_write_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    ResponseCache(path).close()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), f"p{n}"], stderr=subprocess.PIPE
        )
        for n in range(3)
    ]
    errors = [w.communicate(timeout=60)[1].decode() for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0], errors
    assert len(ResponseCache(path)) == 600


def test_model_serves_repeats_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    with OpenAIStubServer(["first", "second"]) as server:
        model = OpenAIChatModel("m", base_url=server.base_url, api_key="k", cache=path)
        fresh = model.complete(ASK, temperature=0.0)
        again = model.complete(ASK, temperature=0.0)
        # another instance (a re-run) on the same file needs no request either
        rerun = OpenAIChatModel("m", base_url=server.base_url, api_key="k", cache=str(path))
        third = rerun.complete(ASK, temperature=0.0)
    assert len(server.requests) == 1
    assert fresh.cached is False
    assert again.cached is True and third.cached is True
    assert again.text == third.text == "first"
    assert (again.prompt_tokens, again.completion_tokens) == (
        fresh.prompt_tokens,
        fresh.completion_tokens,
    )
    model.close()


def test_sampled_requests_bypass_the_cache_unless_seeded(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    with OpenAIStubServer(["a", "b", "c", "d"]) as server:
        model = OpenAIChatModel("m", base_url=server.base_url, api_key="k", cache=cache)
        samples = [model.complete(ASK, temperature=0.8).text for _ in range(2)]
        seeded = [model.complete(ASK, temperature=0.8, seed=s).text for s in (1, 2, 1)]
    assert samples == ["a", "b"]  # self-consistency draws differ
    assert seeded == ["c", "d", "c"]  # each seed is its own cached sample
    assert len(server.requests) == 4


def test_schema_and_endpoint_are_part_of_the_key(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    schema = JsonSchema("S", {"type": "object"})
    with OpenAIStubServer(["plain", "{}"]) as one, OpenAIStubServer(["other"]) as two:
        model = OpenAIChatModel("m", base_url=one.base_url, api_key="k", cache=cache)
        assert model.complete(ASK).text == "plain"
        assert model.complete(ASK, response_schema=schema).text == "{}"
        elsewhere = OpenAIChatModel("m", base_url=two.base_url, api_key="k", cache=cache)
        assert elsewhere.complete(ASK).text == "other"
    assert len(cache) == 3


def test_async_path_uses_the_cache(tmp_path: Path) -> None:
    with OpenAIStubServer(["only"]) as server:
        model = OpenAIChatModel(
            "m", base_url=server.base_url, api_key="k", cache=tmp_path / "c.sqlite"
        )
        first = asyncio.run(model.acomplete(ASK))
        second = asyncio.run(model.acomplete(ASK))
    assert (first.cached, second.cached) == (False, True)
    assert len(server.requests) == 1
