"""Fixtures of the stack-runner tests: free ports for every stack setting, a configuration over the
fake repository root, and a process marker that fails the test if any child outlives it.
"""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.stack import PORT_SETTINGS, StackConfig, free_ports
from tests.infra.fakes import write_fake_root
from tests.support.processes import MARKER_VARIABLE, new_marker, wait_until_none_marked


@pytest.fixture
def port_env() -> dict[str, str]:
    """Every port variable of the stack set to a free port."""
    variables = [variable for _, variable in PORT_SETTINGS.values()]
    return dict(zip(variables, map(str, free_ports(len(variables))), strict=True))


@pytest.fixture
def fake_config(tmp_path: Path, port_env: dict[str, str]) -> StackConfig:
    """A StackConfig on free ports over a fake root, with a short startup timeout."""
    return StackConfig.from_env(
        port_env, var_dir=tmp_path / "var", root=write_fake_root(tmp_path / "root"), startup_timeout=30.0
    )


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A marker every child started during the test inherits; no marked process may outlive the test."""
    value = new_marker()
    monkeypatch.setenv(MARKER_VARIABLE, value)
    yield value
    left = wait_until_none_marked(value)
    for pid in left:  # clean up before failing, so one broken test does not leak into the next
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left running: {left}"
