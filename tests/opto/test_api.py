"""The public face of optiagent.opto: `__all__`, docstrings, and the README's two loops."""

from __future__ import annotations

import inspect
import json

import pytest

import optiagent.opto as opto
from optiagent.opto import NelderMead, OptoPrime, Parameter, bundle, graph_of
from optiagent.testing import ScriptedModel


def test_all_lists_every_public_name_once_and_each_is_documented() -> None:
    assert len(opto.__all__) == len(set(opto.__all__))
    for name in opto.__all__:
        value = getattr(opto, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"
    public = {
        n
        for n, v in vars(opto).items()
        if not n.startswith("_") and not inspect.ismodule(v) and n != "annotations"
    }
    assert public == set(opto.__all__)


def test_the_readme_text_loop() -> None:
    prompt = Parameter(
        "Summarize the text in three detailed paragraphs.",
        name="prompt",
        description="instruction for the summarizer",
    )

    @bundle
    def summarize(prompt: str, text: str) -> str:
        """Summarize `text` following `prompt` (a stand-in for a model call)."""
        return " ".join(text.split()[: 2 * len(prompt.split())])

    suggestion = {"reasoning": "shorter", "suggestion": {"prompt": "One line summary."}}
    model = ScriptedModel([json.dumps(suggestion), '{"reasoning": "ok", "suggestion": {}}'])
    opt = OptoPrime([prompt], model=model)
    text = " ".join(f"w{i}" for i in range(30))
    for _ in range(2):
        out = summarize(prompt, text)
        opt.zero_feedback()
        opt.backward(out, "too long: one line" if len(out.data.split()) > 6 else "good")
        opt.step()
    assert prompt.value == "One line summary."
    assert "#Feedback\ngood" in model.requests[1].text
    assert (
        str(graph_of(out)).splitlines()[-1]
        == '#3 summarize(prompt=#1, text=#2) -> "w0 w1 w2 w3 w4 w5"'
    )


def test_the_readme_numeric_loop() -> None:
    x = Parameter([0.0, 0.0], name="x", bounds=(-5, 5))

    @bundle
    def cost(x: list[float]) -> float:
        """Squared distance to (1, -2)."""
        return (x[0] - 1) ** 2 + (x[1] + 2) ** 2

    opt = NelderMead([x])
    while not opt.done:
        out = cost(x)
        opt.zero_feedback()
        opt.backward(out, out.data)
        opt.step()
    assert opt.best is not None
    assert opt.best.values["x"] == pytest.approx([1.0, -2.0], abs=1e-6)
    assert x.value == pytest.approx([1.0, -2.0], abs=1e-6)
