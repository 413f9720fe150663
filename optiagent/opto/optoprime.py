"""`OptoPrime`: an LLM reads the trace of a run and the feedback, and proposes new values.

    opt = OptoPrime([prompt], model="gpt-4o-mini")      # or model=ScriptedModel([...])
    out = run(prompt, "some text")
    opt.zero_feedback()
    opt.backward(out, "too long: one line please")
    opt.step()                                          # prompt.value is the LLM's suggestion

The prompt (see `optiagent.opto.prompts`) shows the steps of the run, the trainable variables
with their current values, the inputs, intermediate values, outputs, the feedback and a short
memory of earlier (values, feedback) pairs. The reply must be JSON:
`{"reasoning": "...", "suggestion": {"<name>": <new value>, ...}}`. A reply that is not JSON,
names an unknown variable, or gives a value of the wrong type is sent back to the model with
the error quoted, up to `max_attempts` calls; then `LLMOutputError` is raised and the
parameters and the recorded feedback are left as they were.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from optiagent.agent.llm import (
    ChatModel,
    JsonSchema,
    UsageLog,
    Validated,
    acomplete_validated,
    complete_validated,
    resolve_chat_model,
)
from optiagent.agent.llm.structured import format_validation_error
from optiagent.opto.feedback import Feedback
from optiagent.opto.graph import Trace, graph_of
from optiagent.opto.optimizer import Optimizer, StepResult
from optiagent.opto.parameters import Parameter
from optiagent.opto.prompts import (
    DEFAULT_OBJECTIVE,
    SYSTEM_PROMPT,
    MemoryEntry,
    PromptLimits,
    render_user_message,
)

__all__ = ["OptoPrime", "Suggestion"]


@dataclass(frozen=True)
class Suggestion:
    """A validated reply: the model's reasoning and the new values by parameter name."""

    reasoning: str
    values: dict[str, Any]


class OptoPrime(Optimizer):
    """The LLM optimizer: one prompt from the trace and feedback, one JSON suggestion per step.

    `model` is a ChatModel, a model name, or None (then OPTIAGENT_MODEL, OPENAI_BASE_URL and
    OPENAI_API_KEY configure the default client); `model_options` go to that client (base_url,
    api_key, cache, ...). `objective` is the task in a sentence, shown as the instruction.
    `memory_size` earlier (values, feedback) pairs are shown; `usage` records tokens under
    `node`. `structured_output=False` sends no JSON schema (the reply is still validated).
    """

    def __init__(
        self,
        parameters: Iterable[Parameter[Any]],
        *,
        model: ChatModel | str | None = None,
        objective: str = DEFAULT_OBJECTIVE,
        memory_size: int = 5,
        max_attempts: int = 3,
        temperature: float | None = None,
        seed: int | None = None,
        limits: PromptLimits | None = None,
        structured_output: bool = True,
        usage: UsageLog | None = None,
        node: str = "opto",
        **model_options: Any,
    ) -> None:
        super().__init__(parameters)
        self.model: ChatModel = resolve_chat_model(model, **model_options)
        self.objective = objective
        self.memory: deque[MemoryEntry] = deque(maxlen=max(0, memory_size))
        self.max_attempts = max_attempts
        self.temperature = temperature
        self.seed = seed
        self.limits = limits or PromptLimits()
        self.usage = usage
        self.node = node
        self.response_schema = _response_schema(self.parameters) if structured_output else None
        self.last_validated: Validated[Suggestion] | None = None
        """How the last step's suggestion was obtained: every reply and every error fed back."""

    # -- the prompt --------------------------------------------------------------------------

    def trace(self) -> Trace:
        """Return one trace holding every output given to `backward` since the last step."""
        outputs = [output for trace, _ in self._require_feedback() for output in trace.outputs]
        return graph_of(*outputs)

    def build_messages(self) -> list[dict[str, str]]:
        """Return the system and user messages this optimizer would send for the next step."""
        pairs = self._require_feedback()
        trace = self.trace()
        feedback: list[tuple[list[int], Feedback]] = [
            ([trace.id_of(output) for output in own.outputs], item) for own, item in pairs
        ]
        user = render_user_message(
            trace,
            feedback,
            self.parameters,
            list(self.memory),
            objective=self.objective,
            limits=self.limits,
        )
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    # -- steps ---------------------------------------------------------------------------------

    def step(self) -> StepResult:
        """Ask the model for new values and apply them; raise LLMOutputError if none is usable."""
        validated = complete_validated(
            self.model,
            self.build_messages(),
            self.validate_reply,
            response_schema=self.response_schema,
            max_attempts=self.max_attempts,
            temperature=self.temperature,
            seed=self.seed,
            usage=self.usage,
            node=self.node,
        )
        return self._apply(validated)

    async def astep(self) -> StepResult:
        """Async `step` (the model is called with `acomplete`)."""
        validated = await acomplete_validated(
            self.model,
            self.build_messages(),
            self.validate_reply,
            response_schema=self.response_schema,
            max_attempts=self.max_attempts,
            temperature=self.temperature,
            seed=self.seed,
            usage=self.usage,
            node=self.node,
        )
        return self._apply(validated)

    def validate_reply(self, data: Any) -> Suggestion:
        """Return the suggestion in a parsed reply; raise ValueError naming every problem."""
        if not isinstance(data, dict):
            raise ValueError(
                'expected one JSON object {"reasoning": ..., "suggestion": {...}}, got '
                f"{type(data).__name__}"
            )
        if "suggestion" not in data:
            raise ValueError(
                'the object has no "suggestion" key; put the new values under "suggestion", '
                'e.g. {"reasoning": "...", "suggestion": {"' + self.parameters[0].name + '": ...}}'
            )
        suggestion = data["suggestion"]
        if not isinstance(suggestion, dict):
            raise ValueError(
                '"suggestion" must be an object mapping variable names to new values, got '
                f"{type(suggestion).__name__}"
            )
        reasoning = data.get("reasoning", "")
        names = {p.name: p for p in self.parameters}
        problems: list[str] = []
        values: dict[str, Any] = {}
        for name, candidate in suggestion.items():
            parameter = names.get(name)
            if parameter is None:
                known = ", ".join(repr(n) for n in names)
                problems.append(f"{name!r} is not a trainable variable; the variables are {known}")
                continue
            try:
                values[name] = parameter.coerce(candidate)
            except ValidationError as error:
                problems.append(
                    f"{name!r} ({parameter.type_description()}): {format_validation_error(error)}"
                )
            except ValueError as error:
                problems.append(f"{name!r} ({parameter.type_description()}): {error}")
        if problems:
            raise ValueError("\n".join(problems))
        return Suggestion(reasoning if isinstance(reasoning, str) else str(reasoning), values)

    def _apply(self, validated: Validated[Suggestion]) -> StepResult:
        self.last_validated = validated
        feedback = "\n\n".join(item.render() for _, item in self._feedback)
        if self.memory.maxlen:
            self.memory.append(
                MemoryEntry({p.name: p.to_json() for p in self.parameters}, feedback)
            )
        updates: dict[str, Any] = {}
        for name, value in validated.value.values.items():
            parameter = self.parameter(name)
            if _same(parameter.value, value):
                continue
            parameter.value = value
            updates[name] = parameter.value
        self._feedback.clear()
        return StepResult(
            updates=updates, reasoning=validated.value.reasoning, attempts=validated.attempts
        )


def _same(old: Any, new: Any) -> bool:
    try:
        return bool(old == new)
    except ValueError:  # numpy arrays compare element-wise
        return bool((old == new).all())


def _response_schema(parameters: tuple[Parameter[Any], ...]) -> JsonSchema:
    definitions: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for parameter in parameters:
        own = dict(parameter.json_schema())
        # Pydantic puts nested models under "$defs" with "#/$defs/..." references, which are
        # resolved from the root of the document: move them there.
        definitions.update(own.pop("$defs", {}))
        properties[parameter.name] = own
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "suggestion": {
                "type": "object",
                "properties": properties,
                "additionalProperties": False,
            },
        },
        "required": ["reasoning", "suggestion"],
        "additionalProperties": False,
    }
    if definitions:
        schema["$defs"] = definitions
    return JsonSchema(name="opto_suggestion", schema=schema, strict=False)
