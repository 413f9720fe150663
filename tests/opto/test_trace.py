"""bundle records calls as steps; graph_of walks them back in order; runs never mix."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from optiagent.opto import Node, Parameter, StepError, bundle, graph_of, node, step_info


@bundle
def shout(text: str, times: int = 1) -> str:
    """Upper-case `text` and repeat it."""
    return text.upper() * times


@bundle
def join(parts: list[str], sep: str = " ") -> str:
    """Join the parts."""
    return sep.join(parts)


@bundle
def divide(a: float, b: float) -> float:
    """Divide a by b."""
    return a / b


def test_a_bundled_call_returns_a_node_with_its_inputs() -> None:
    prompt = Parameter("hi", name="prompt", description="what to say")
    out = shout(prompt, times=2)
    assert isinstance(out, Node)
    assert out.data == "HIHI" and out.value == "HIHI"
    assert out.step is not None and out.step.name == "shout"
    assert [label for label, _ in out.step.inputs] == ["text", "times"]
    assert out.parents[0] is prompt
    assert out.parents[1].data == 2  # a plain argument became a constant node


def test_step_info_keeps_name_docstring_and_source() -> None:
    info = step_info(shout)
    assert info is not None
    assert info.name == "shout"
    assert info.doc == "Upper-case `text` and repeat it."
    assert info.source is not None
    assert info.source.startswith("def shout(")
    assert "@bundle" not in info.source


def test_nodes_inside_lists_are_inputs_too() -> None:
    first = shout("a")
    out = join([first, node("b", name="b")])
    assert out.data == "A b"
    assert [label for label, _ in out.step.inputs] == ["parts[0]", "parts[1]", "sep"]  # type: ignore[union-attr]
    mixed = join([first, "c"])
    assert [n.data for _, n in mixed.step.inputs] == ["A", "c", " "]  # type: ignore[union-attr]


def test_graph_is_topological_and_printable() -> None:
    prompt = Parameter("go", name="prompt")
    loud = shout(prompt)
    out = join([loud, "now"], sep="-")
    trace = graph_of(out)
    names = [n.name for n in trace.nodes]
    assert names == ["prompt", "times", "shout", "parts[1]", "sep", "join"]
    for n in trace.nodes:
        for parent in n.parents:
            assert trace.id_of(parent) < trace.id_of(n)
    text = str(trace)
    assert '#1 prompt (trainable text) = "go"' in text
    assert f'#{trace.id_of(loud)} shout(text=#1, times=#2) -> "GO"' in text
    assert text.splitlines()[-1].endswith('-> "GO-now"')
    assert trace.parameters == (prompt,)
    assert trace.outputs == (out,)
    assert loud in trace.intermediates


def test_long_values_are_shortened_in_the_middle() -> None:
    out = shout("x" * 1000)
    line = graph_of(out).line(out, limit=100)
    assert "characters omitted" in line
    assert len(line) < 200
    assert "X" * 1000 in graph_of(out).line(out, limit=None)


def test_a_failing_step_becomes_an_error_node_and_later_steps_are_skipped() -> None:
    bad = divide(1.0, 0.0)
    assert bad.failed
    assert isinstance(bad.error, ZeroDivisionError)
    with pytest.raises(StepError, match="divide") as raised:
        _ = bad.data
    assert raised.value.node is bad
    assert isinstance(raised.value.__cause__, ZeroDivisionError)

    after = divide(bad, 2.0)
    assert after.failed and after.error is bad.error
    text = str(graph_of(after))
    assert "raised ZeroDivisionError: float division by zero" in text
    assert "not run: its input a=#3 had failed" in text


def test_catch_errors_false_lets_the_exception_through() -> None:
    @bundle(catch_errors=False)
    def explode() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        explode()


def test_a_node_returned_from_inside_hides_its_own_history() -> None:
    @bundle(name="outer")
    def outer(text: str) -> Node[str]:
        return shout(text)

    out = outer("q")
    assert out.data == "Q"
    assert [n.name for n in graph_of(out).nodes] == ["text", "outer"]


def test_methods_do_not_trace_self() -> None:
    class Greeter:
        @bundle
        def greet(self, name: str) -> str:
            """Greet someone."""
            return f"hello {name}"

    out = Greeter().greet("ann")
    assert out.data == "hello ann"
    assert [label for label, _ in out.step.inputs] == ["name"]  # type: ignore[union-attr]
    assert out.step.name == "Greeter.greet"  # type: ignore[union-attr]


def test_long_chains_do_not_hit_the_recursion_limit() -> None:
    @bundle
    def inc(x: int) -> int:
        return x + 1

    value: Node[int] = node(0)
    for _ in range(3000):
        value = inc(value)
    trace = graph_of(value)
    assert value.data == 3000 and len(trace.nodes) == 3001


def test_async_functions_are_bundled() -> None:
    @bundle
    async def slow_shout(text: str) -> str:
        """Shout after a pause."""
        await asyncio.sleep(0)
        return text.upper()

    out = asyncio.run(slow_shout("a"))
    assert out.data == "A" and out.step.name == "slow_shout"  # type: ignore[union-attr]


def test_concurrent_async_runs_keep_separate_graphs() -> None:
    prompt = Parameter("p", name="prompt")

    @bundle
    async def fetch(prompt: str, source: str) -> str:
        """Read a source."""
        await asyncio.sleep(0)
        return f"{prompt}:{source}"

    @bundle
    async def digest(text: str, source: str) -> str:
        """Shorten a text."""
        await asyncio.sleep(0)
        return text[:6] + source

    async def run(source: str) -> Node[str]:
        first = await fetch(prompt, source)
        await asyncio.sleep(0)
        return await digest(first, source)

    async def both() -> list[Node[str]]:
        return list(await asyncio.gather(run("left"), run("right")))

    left, right = asyncio.run(both())
    _assert_separate(left, right, prompt)


def test_concurrent_threads_keep_separate_graphs() -> None:
    prompt = Parameter("p", name="prompt")
    barrier = threading.Barrier(2)

    @bundle
    def fetch(prompt: str, source: str) -> str:
        """Read a source."""
        barrier.wait(timeout=5)
        return f"{prompt}:{source}"

    @bundle
    def digest(text: str, source: str) -> str:
        """Shorten a text."""
        return text[:6] + source

    def run(source: str) -> Node[str]:
        return digest(fetch(prompt, source), source)

    with ThreadPoolExecutor(max_workers=2) as pool:
        left, right = pool.map(run, ["left", "right"])
    _assert_separate(left, right, prompt)


def _assert_separate(left: Node[str], right: Node[str], shared: Parameter[str]) -> None:
    left_trace, right_trace = graph_of(left), graph_of(right)
    left_ids = {id(n) for n in left_trace.nodes}
    right_ids = {id(n) for n in right_trace.nodes}
    assert left_ids & right_ids == {id(shared)}
    assert all("right" not in str(n._data) for n in left_trace.nodes)
    assert all("left" not in str(n._data) for n in right_trace.nodes)
    assert len(left_trace.nodes) == len(right_trace.nodes) == 5


def test_graph_of_several_outputs_and_plain_values() -> None:
    a = shout("a")
    b = shout(a)
    trace = graph_of(a, b)
    assert trace.outputs == (a, b)
    assert trace.intermediates == ()
    plain = graph_of(42)
    assert len(plain.nodes) == 1 and plain.nodes[0].data == 42
