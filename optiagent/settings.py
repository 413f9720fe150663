"""Configuration read from the environment (`OPTIAGENT_` prefix), built once at the edge.

The CLI builds one `Settings` and passes values down; library code takes plain arguments and
never reads the environment itself, so two agents with different settings can share a process.
`OPENAI_API_KEY` and `OPENAI_BASE_URL` stay the `openai` package's own variables.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_MODEL", "Settings"]

DEFAULT_MODEL = "gpt-4o-mini"


class Settings(BaseSettings):
    """Every knob optiagent reads from the environment, with its default."""

    model_config = SettingsConfigDict(env_prefix="OPTIAGENT_", extra="ignore")

    model: str = Field(DEFAULT_MODEL, description="chat model name sent to the endpoint")
    data_dir: Path | None = Field(None, description="folder holding the benchmark datasets")
    cache: Path | None = Field(None, description="SQLite file caching LLM responses")
    time_limit: float = Field(60.0, gt=0, description="solver time limit per solve, seconds")
    threads: int | None = Field(None, ge=1, description="solver threads (solver default if unset)")
    max_repairs: int = Field(3, ge=0, description="repair attempts after the first formulation")
    samples: int = Field(1, ge=1, description="independent formulations for self-consistency")
    llm_timeout: float = Field(120.0, gt=0, description="seconds to wait for one LLM reply")
    llm_max_retries: int = Field(4, ge=0, description="retries of transient LLM errors")
    solver_workers: int | None = Field(
        None, ge=1, description="solver worker processes, solves at once (default: CPUs)"
    )
    solver_grace: float = Field(
        5.0, gt=0, description="seconds past its time limit before a solver's worker is killed"
    )
