"""The README's promises: its offline snippets run as printed and its commands exist."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optiagent.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _python_block(marker: str) -> str:
    """Return the README's one ```python block that contains `marker`."""
    blocks = [b for b in re.findall(r"```python\n(.*?)```", README, re.S) if marker in b]
    assert len(blocks) == 1, f"expected one python block with {marker!r}, found {len(blocks)}"
    return blocks[0]


def _run(code: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Execute a snippet from the repository root; return what it printed."""
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(
            compile(code, "README.md", "exec"), {"__name__": "readme"}
        )  # our own README, run as printed
    return out.getvalue()


def test_the_first_commands_are_install_then_run_and_install_then_test() -> None:
    first_block = README.split("```bash\n", 1)[1].split("```", 1)[0]
    assert "pip install -e . && .venv/bin/optiagent run examples/" in first_block
    assert 'pip install -e ".[test]" && .venv/bin/python -m pytest' in first_block
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci  # CI runs the README's test command


def test_solving_without_a_language_model(monkeypatch: pytest.MonkeyPatch) -> None:
    printed = _run(_python_block("load_formulation"), monkeypatch)
    assert printed.startswith("optimal 153.675")


def test_testing_your_code_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    printed = _run(_python_block("ScriptedModel([proposal_reply"), monkeypatch)
    assert printed.strip() == "36"


def test_the_numeric_opto_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    block = _python_block("NelderMead([x])")
    numeric = block[block.index("x = Parameter([0.0, 0.0]") :]
    imports = "from optiagent.opto import Parameter, bundle, NelderMead\n"
    printed = _run(imports + numeric, monkeypatch)
    assert printed.startswith("BestPoint(values={'x': [")


@pytest.mark.parametrize(
    "command",
    sorted(set(re.findall(r"^\| `optiagent ([a-z]+)", README, re.M))),
)
def test_every_command_in_the_table_exists(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output


def test_every_example_named_in_the_readme_exists() -> None:
    named = set(re.findall(r"examples/[a-z_]+\.(?:yaml|md)", README))
    assert named, "the README names no examples"
    missing = sorted(n for n in named if not (ROOT / n).is_file())
    assert not missing, f"the README names missing examples: {missing}"
