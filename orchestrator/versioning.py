"""Which version of the Worker Deployment this worker is: the build id.

A build id names the code a saga runs on. Each saga is pinned to the version it started on, so two
workers that share a build id must run the same workflow code, and a change to that code must come
with a new build id. By default the id is therefore derived from the code itself: a digest of the
source of the packages that decide what a saga does (`orchestrator` and `saga_contract`). A release
pipeline sets its own (an image tag, say) through SAGA_BUILD_ID.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import saga_contract
from saga_contract import BUILD_ID_PATTERN

CODE_PACKAGES = (Path(__file__).resolve().parent, Path(saga_contract.__file__).resolve().parent)
_BUILD_ID = re.compile(BUILD_ID_PATTERN)


def code_build_id(packages: Iterable[Path] = CODE_PACKAGES) -> str:
    """`code-` and 12 hex digits of a digest over every module's name and source in `packages`: the
    same for every checkout of the same code, different as soon as one line of it differs."""
    digest = hashlib.sha256()
    for package in packages:
        for module in sorted(package.glob("*.py")):
            digest.update(f"{package.name}/{module.name}\0".encode())
            digest.update(module.read_bytes())
            digest.update(b"\0")
    return f"code-{digest.hexdigest()[:12]}"


def checked_build_id(text: str) -> str:
    """`text` as a build id, or ValueError saying what a build id may be."""
    if not _BUILD_ID.fullmatch(text):
        raise ValueError(
            f"a build id is 1 to 128 letters, digits, dots, dashes or underscores, starting with a letter "
            f"or digit, not {text!r}"
        )
    return text
