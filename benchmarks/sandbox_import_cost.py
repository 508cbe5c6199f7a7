"""What does a new saga run cost the worker in the workflow sandbox's import of its module?

The sandbox imports the workflow module afresh for every workflow run; each module it does not pass
through is executed again too. This imports `orchestrator.workflows` the way the sandbox does when a
run begins (a fresh importer with the SDK's default restrictions, after `compile_orchestrator()` as
the worker runs it), `--runs` times in three rounds, and prints the CPU ms per run of each round.
Which modules a run executes again is tested (tests/workflow/test_sandbox_imports.py). Figures, not
assertions.

    .venv/bin/python benchmarks/sandbox_import_cost.py [--runs 500]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from temporalio import workflow
from temporalio.worker.workflow_sandbox import SandboxRestrictions

# The importer the sandbox's runner builds for each run; the SDK has no public way to build one alone.
from temporalio.worker.workflow_sandbox._importer import Importer
from temporalio.worker.workflow_sandbox._restrictions import RestrictionContext

from orchestrator.bytecode import compile_orchestrator

_IMPORT = "with importer.applied():\n  from orchestrator.workflows import OrderSaga\n"


def import_in_a_sandbox() -> None:
    importer = Importer(
        SandboxRestrictions.default, RestrictionContext(), workflow_module_name="orchestrator.workflows"
    )
    namespace: dict[str, Any] = {"__file__": "workflow_sandbox.py", "importer": importer}
    workflow.unsafe._set_in_sandbox(True)
    try:
        exec(_IMPORT, namespace, namespace)
    finally:
        workflow.unsafe._set_in_sandbox(False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    options = parser.parse_args()
    compile_orchestrator()
    import orchestrator.workflows  # noqa: F401  the passed-through modules, imported once as a worker has them

    for _ in range(min(options.runs, 20)):
        import_in_a_sandbox()
    print("CPU ms per run of the sandbox's import of the workflow module")
    for _ in range(3):
        began = time.process_time()
        for _ in range(options.runs):
            import_in_a_sandbox()
        print(f"  {(time.process_time() - began) / options.runs * 1000:.3f}")


if __name__ == "__main__":
    main()
