"""What can go wrong when the saga calls a service, and who retries it.

The whole policy in one tree; clients.py raises these, activities.py maps them to Temporal.

Error taxonomy::

    ServiceError                  a call that did not succeed
     ├── TransientServiceError    trying again later may succeed
     │    ├── ServiceUnreachable  no answer: connect error, timeout, broken connection
     │    ├── ServiceUnavailable  an answer meaning "not now": 5xx, 429,
     │    │                       409 idempotency_in_flight, 401/403 (the saga's
     │    │                       token refused: fetched afresh, and retried until
     │    │                       an operator mends the worker's identity)
     │    ├── CredentialsUnavailable  not sent: no token could be had (token endpoint down)
     │    └── CircuitOpen         not even tried: the service's breaker is open
     └── BusinessError            a definite answer: a 4xx carrying a domain code
                                  ("out_of_stock", ...), or code "bad_response" when
                                  the answer breaks the contract (no error body, no JSON)

Who retries what:

- here, inside the activity (tenacity, a few seconds at most): ServiceUnreachable, and
  ServiceUnavailable for 502/503/504, 401 (with a fresh token) or idempotency_in_flight;
- Temporal, by the activity's retry policy: every TransientServiceError, which the activity
  raises as a retryable ``ApplicationError(type=<class name>)``; for CircuitOpen the next
  attempt waits until the breaker lets a trial call through (``next_retry_delay``);
- never: BusinessError, raised as ``ApplicationError(type=<code>, non_retryable=True)``.

What opens a breaker (see breakers.py): ServiceUnreachable and 5xx answers; nothing else.
Every attempt of one call carries the same Idempotency-Key, so retrying never repeats an effect.
"""

from typing import Any


class ServiceError(Exception):
    def __init__(self, service: str, description: str) -> None:
        super().__init__(f"{service}: {description}")
        self.service = service


class TransientServiceError(ServiceError):
    pass


class ServiceUnreachable(TransientServiceError):
    pass


class ServiceUnavailable(TransientServiceError):
    def __init__(self, service: str, status_code: int, code: str | None) -> None:
        super().__init__(service, f"HTTP {status_code}" + (f" {code}" if code else ""))
        self.status_code = status_code
        self.code = code


class CredentialsUnavailable(TransientServiceError):
    pass


class CircuitOpen(TransientServiceError):
    def __init__(self, service: str, retry_after: float) -> None:
        super().__init__(service, f"circuit breaker open, trial call in {retry_after:.1f} s")
        self.retry_after = retry_after


class BusinessError(ServiceError):
    def __init__(
        self, service: str, status_code: int, code: str, message: str, details: dict[str, Any]
    ) -> None:
        super().__init__(service, f"HTTP {status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
