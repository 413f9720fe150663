"""Fixtures for the loader tests: the shared benchmark folder beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ../shared/datasets relative to the repository root (CI clones ../shared beside the repo).
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Return the shared data folder, or skip when it is not beside the repository."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"benchmark data not found at {SHARED_DATA} (clone ../shared beside the repo)")
    return SHARED_DATA
