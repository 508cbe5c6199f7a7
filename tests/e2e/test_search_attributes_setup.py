"""The deployment's search-attribute step (`python -m orchestrator.search_attributes`, the image's
`search-attributes` role) against a real Temporal server that has them already: it adds nothing,
says so, and succeeds, so it can run on every deployment."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.any_database


def test_the_setup_step_finds_every_attribute_there_and_succeeds(stack):
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.search_attributes"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"TEMPORAL_ADDRESS": stack.temporal_address},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "search attributes on 'default': added none (all there)\n"
