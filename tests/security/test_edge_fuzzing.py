"""The edge's parsing under a coverage-guided fuzzer (tests/security/edge_fuzzer.py), for a bounded
time: no input may crash it, and every refusal must be a 4xx in the one error shape."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris (the test extra) is not installed")

ROOT = Path(__file__).parents[2]
SECONDS = 25
MAX_RUNS = 400_000


def test_the_edge_survives_a_fuzzer_and_refuses_in_the_error_shape(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "security" / "edge_fuzzer.py"),
            str(corpus),
            f"-max_total_time={SECONDS}",
            f"-runs={MAX_RUNS}",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=ROOT / "inventory_svc",
        env=os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'inventory_svc'}"},
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
    )
    report = done.stderr[-6000:]
    assert done.returncode == 0, report
    assert "Done " in report, report
    assert not list(tmp_path.glob("crash-*")), report
