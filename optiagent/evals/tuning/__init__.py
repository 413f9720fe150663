"""`optiagent tune`: improve the agent's own prompts on a training split, check on held-out.

    from optiagent.evals.tuning import agent_factory, tune_prompts, save_tune_result, tune_files
    result = asyncio.run(tune_prompts(dataset, agent_factory(agent), agent.model,
                                      Path("tuned.runs"), train=20, test=20, seed=0))
    result.held_out.before.accuracy, result.held_out.after.accuracy

The trainable texts are the modeling rules and the worked example of the formulate prompt
(`PromptSet.modeling_rules`, `PromptSet.example`); the optimizer is OptoPrime. The expected
answers of training problems are shown to the optimizer, never to the agent solving a
problem, and the held-out problems are never shown to the optimizer.
"""

from __future__ import annotations

from optiagent.evals.tuning.loop import (
    TUNE_LIMITS,
    TUNE_OBJECTIVE,
    TuneEvent,
    TuneOptions,
    tune_prompts,
)
from optiagent.evals.tuning.parameters import (
    check_example,
    check_rules,
    prompt_parameters,
    prompts_with,
)
from optiagent.evals.tuning.report import (
    TuneFiles,
    render_tune_markdown,
    save_tune_result,
    tune_files,
)
from optiagent.evals.tuning.results import HeldOut, TuneResult, TuneRound, sign_test
from optiagent.evals.tuning.splits import batches, split_problems
from optiagent.evals.tuning.traced import (
    SystemFactory,
    TracedSystem,
    agent_factory,
    problem_feedback,
    summarize_output,
)

__all__ = [
    "TUNE_LIMITS",
    "TUNE_OBJECTIVE",
    "HeldOut",
    "SystemFactory",
    "TracedSystem",
    "TuneEvent",
    "TuneFiles",
    "TuneOptions",
    "TuneResult",
    "TuneRound",
    "agent_factory",
    "batches",
    "check_example",
    "check_rules",
    "problem_feedback",
    "prompt_parameters",
    "prompts_with",
    "render_tune_markdown",
    "save_tune_result",
    "sign_test",
    "split_problems",
    "summarize_output",
    "tune_files",
    "tune_prompts",
]
