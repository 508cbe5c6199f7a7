"""Bytecode for the modules the workflow sandbox imports again for every workflow run.

The sandbox imports the workflow's module afresh for each run. Where Python may not write bytecode
(PYTHONDONTWRITEBYTECODE, as in the container image, or a read-only tree), every one of those
imports compiled the module from source: more than half of what a new run cost the worker
(docs/benchmarks.md). A worker calls `compile_orchestrator()` once at start. It writes the bytecode
files Python reads anyway and changes nothing else.
"""

from __future__ import annotations

import compileall
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent


def compile_orchestrator(directory: Path = PACKAGE_DIR) -> bool:
    """Write the bytecode of every module in `directory` where it is missing or stale; False (and a
    warning) when it cannot be written, in which case each workflow run compiles as before."""
    try:
        written = compileall.compile_dir(directory, maxlevels=0, quiet=2, workers=1)
    except OSError as error:
        logger.warning("workflow bytecode not written in %s: %s", directory, error)
        return False
    if not written:
        logger.warning("workflow bytecode not written in %s: each workflow run compiles it again", directory)
    return bool(written)
