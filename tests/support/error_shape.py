"""The one error shape every refusal carries, as the tests check it: `{code, message, details}` with
a string, a string and an object. Plain Python, so that any test process may import it."""

from __future__ import annotations

from typing import Any

ERROR_FIELDS = {"code": str, "message": str, "details": dict}


def error_shape_problem(status_code: int, body: Any) -> str | None:
    """What is wrong with a refusal's body, or None when it is the error shape."""
    if not isinstance(body, dict) or set(body) != set(ERROR_FIELDS):
        return f"{status_code} is not in the error shape {{code, message, details}}: {body!r:.300}"
    for name, kind in ERROR_FIELDS.items():
        if not isinstance(body[name], kind):
            return f"{status_code}: `{name}` is not a {kind.__name__}: {body!r:.300}"
    return None
