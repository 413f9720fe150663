"""Token prices per model, for the cost column of reports.

optiagent ships no prices (they change and differ per provider): give a JSON or YAML file
with `--prices FILE`, mapping a model name to USD per one million prompt and completion tokens:

    {"gpt-4o-mini": {"prompt": 0.15, "completion": 0.60}}

A model without a price gets no cost (shown as n/a), never a guessed one. Cached replies are
free: their tokens are subtracted before pricing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optiagent.exceptions import ConfigurationError

__all__ = ["Price", "PriceTable"]


@dataclass(frozen=True)
class Price:
    """USD per one million prompt tokens and per one million completion tokens."""

    prompt: float
    completion: float


@dataclass(frozen=True)
class PriceTable:
    """Prices by model name; `cost` returns None for a model that has none."""

    prices: Mapping[str, Price] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str = "prices") -> PriceTable:
        """Return a table from {model: {"prompt": usd_per_1m, "completion": usd_per_1m}}."""
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"{origin}: expected an object mapping model -> prices")
        prices: dict[str, Price] = {}
        for model, entry in data.items():
            if not isinstance(entry, Mapping) or not {"prompt", "completion"} <= set(entry):
                raise ConfigurationError(
                    f"{origin}: the price of {model!r} must be an object with 'prompt' and "
                    '\'completion\' (USD per 1M tokens), e.g. {"prompt": 0.15, "completion": 0.6}'
                )
            try:
                prompt, completion = float(entry["prompt"]), float(entry["completion"])
            except (TypeError, ValueError):
                raise ConfigurationError(f"{origin}: prices of {model!r} must be numbers") from None
            if (
                not (math.isfinite(prompt) and math.isfinite(completion))
                or min(prompt, completion) < 0
            ):
                raise ConfigurationError(f"{origin}: prices of {model!r} must be finite and >= 0")
            prices[str(model)] = Price(prompt, completion)
        return cls(prices)

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        """Return the table in a JSON or YAML file."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigurationError(f"cannot read the price file {path}: {error}") from error
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise ConfigurationError(f"{path}: not valid YAML ({error})") from error
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as error:
                raise ConfigurationError(f"{path}: not valid JSON ({error})") from error
        return cls.from_mapping(data or {}, origin=str(path))

    def cost(
        self,
        model: str | None,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> float | None:
        """Return the USD cost of these billed tokens under `model`'s price, or None."""
        price = self.prices.get(model) if model else None
        if price is None:
            return None
        return (prompt_tokens * price.prompt + completion_tokens * price.completion) / 1e6

    def to_dict(self) -> dict[str, dict[str, float]]:
        """Return the table in the file format (stored in a run's config.json)."""
        return {m: {"prompt": p.prompt, "completion": p.completion} for m, p in self.prices.items()}
