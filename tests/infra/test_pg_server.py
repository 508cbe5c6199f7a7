"""`python -m infra.pg_server COMMAND`, which the Makefile's `*-postgres` targets run under when no
PG_URL is given: COMMAND runs with PG_URL naming a real PostgreSQL server that allows the pass's
connections, COMMAND's exit code comes back, and the server and its folder are gone afterwards.
Skips where the machine has no PostgreSQL server binaries (.ci/run installs Debian's)."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest

from infra.pg_server import PASS_CONNECTIONS, unavailable_reason
from infra.stack.config import REPO_ROOT
from tests.support.processes import run_bounded

pytestmark = [
    pytest.mark.any_database,
    pytest.mark.skipif(unavailable_reason() is not None, reason=f"{unavailable_reason()}"),
]

ENVIRON = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
PROBE = textwrap.dedent(
    """
    import os, sys, psycopg
    url = os.environ["PG_URL"]
    with psycopg.connect(url + "/postgres") as connection:
        allowed = connection.execute("SHOW max_connections").fetchone()[0]
        folder = connection.execute("SHOW data_directory").fetchone()[0]
    print(url, allowed, folder)
    sys.exit(3)
    """
)


def test_the_command_runs_on_a_server_of_its_own_that_is_removed_after() -> None:
    done = run_bounded(
        [sys.executable, "-m", "infra.pg_server", sys.executable, "-c", PROBE], env=ENVIRON, timeout=120
    )

    assert done.returncode == 3, done.stdout + done.stderr
    url, allowed, folder = done.stdout.splitlines()[-1].split()
    assert url.startswith("postgres://postgres@127.0.0.1:")
    assert int(allowed) == PASS_CONNECTIONS
    assert not Path(folder).exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"{url}/postgres", connect_timeout=2)


def test_without_a_command_it_says_how_it_is_used() -> None:
    done = run_bounded([sys.executable, "-m", "infra.pg_server"], env=ENVIRON, timeout=60)

    assert done.returncode == 2
    assert "usage: python -m infra.pg_server COMMAND" in done.stderr
