"""The code route: the model writes a complete Pyomo / OR-Tools program that runs in the
sandbox, with the same verify / repair loop as the formulation (IR) route.

    from optiagent.agent.code import CodeRoute, code_limits, extract_code

`Agent(route="code")` (or "auto": the IR route first, this one when it fails) uses it; see
`optiagent.agent.code.route` for the loop and `optiagent.agent.code_prompts` for the prompts.
"""

from __future__ import annotations

from optiagent.agent.code.program import ProgramRunner, extract_code, verify_program
from optiagent.agent.code.route import CodeRoute, code_limits, merge_fallback

__all__ = [
    "CodeRoute",
    "ProgramRunner",
    "code_limits",
    "extract_code",
    "merge_fallback",
    "verify_program",
]
