"""One warm Sandbox shared by every sandbox test, started with fake secrets in the environment.

Starting workers costs a few seconds, so the session shares one pool; tests that kill a
worker on purpose check that the pool recovers. The pool starts while OPENAI_API_KEY and a
few other credentials are set in this process's environment (tests/conftest.py removes them
again for each test), so that the secret tests can check that no child ever sees them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from optiagent.solvers_backend.sandbox import Limits, Sandbox

FAKE_SECRETS = {
    "OPENAI_API_KEY": "sk-test-secret",
    "MY_SERVICE_TOKEN": "tok-test-secret",
    "AWS_SECRET_ACCESS_KEY": "aws-test-secret",
    "DATABASE_PASSWORD": "pw-test-secret",
}

HEALTHY_CODE = "print('status: optimal')\nprint('objective: 42')\n"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The shared pool (both families), with short default limits."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_SECRETS.items():
            patch.setenv(name, value)
        pool = Sandbox(limits=Limits(wall_seconds=20, cpu_seconds=20), max_parallel=4)
    try:
        yield pool
    finally:
        pool.close()


def assert_healthy(pool: Sandbox) -> None:
    """A normal run right after an attack still works: the pool recovered."""
    result = pool.run(HEALTHY_CODE)
    assert result.exit_reason == "ok", result.feedback()
    assert result.reported.objective == 42
