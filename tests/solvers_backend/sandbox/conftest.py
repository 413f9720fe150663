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


HOOK_SWITCH = "OPTIAGENT_SANDBOX_AUDIT_HOOK"


@pytest.fixture(scope="session")
def kernel_only_sandbox() -> Iterator[Sandbox]:
    """A pool whose runs have no audit hook (the testing switch): the kernel layers alone."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HOOK_SWITCH, "off")
        pool = Sandbox(
            limits=Limits(wall_seconds=20, cpu_seconds=20), max_parallel=2, families=["pyomo"]
        )
    try:
        protections = pool.worker_info("pyomo")["protections"]
        assert protections["audit_hook"].startswith("off")
        missing = {layer: text for layer, text in protections.items() if "unavailable" in text}
        if missing:  # docs/SANDBOX.md says what holds then; these tests check the full set
            pytest.skip(f"kernel layers unavailable on this machine: {missing}")
        yield pool
    finally:
        pool.close()


@pytest.fixture(params=["with_hook", "kernel_only"])
def confined(
    request: pytest.FixtureRequest, sandbox: Sandbox, kernel_only_sandbox: Sandbox
) -> Sandbox:
    """Each attack test runs twice: with the audit hook, and with the kernel layers alone.

    OPTIAGENT_SANDBOX_AUDIT_HOOK=off in the environment of the test run makes the shared
    `sandbox` hook-less as well, so the whole suite can be run that way.
    """
    return sandbox if request.param == "with_hook" else kernel_only_sandbox
