"""The worker writes the bytecode of the modules its workflow sandbox imports for every run, even where
Python itself may not write any (PYTHONDONTWRITEBYTECODE), so those imports no longer compile source."""

import importlib.util
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

from orchestrator import bytecode

MODULE = '"""A module the sandbox would import."""\n\nANSWER = 42\n'


def test_bytecode_is_written_where_python_would_write_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    source = tmp_path / "saga_module.py"
    source.write_text(MODULE)

    assert bytecode.compile_orchestrator(tmp_path)

    assert Path(importlib.util.cache_from_source(str(source))).is_file()

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled from source although its bytecode was there")

    loader = SourceFileLoader("saga_module", str(source))
    monkeypatch.setattr(loader, "source_to_code", no_compiling)
    spec = importlib.util.spec_from_file_location("saga_module", source, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    assert module.ANSWER == 42


def test_the_orchestrators_own_modules_are_compiled_by_default() -> None:
    assert bytecode.compile_orchestrator()

    workflows = bytecode.PACKAGE_DIR / "workflows.py"
    assert Path(importlib.util.cache_from_source(str(workflows))).is_file()
