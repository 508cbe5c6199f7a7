"""The saga's operations, for operators: GET /api/v1/operations/breakers reads each circuit breaker
from the workers' metrics endpoints (open if any worker has it open, unknown if none answers about
it, each worker within a deadline of a second by default); GET /api/v1/operations/audit answers the
scheduled audit's last closed run through the saga gateway (503 when Temporal cannot answer). Only
operators may read either."""

import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from orders.saga_gateway import AuditRunReport, SagaUnreachable
from orders.saga_gateway.audit import audit_report_completed, audit_report_failed
from orders.worker_metrics import breakers_in_exposition, combine_breaker_reports

from chassis.testing import assert_error

pytestmark = pytest.mark.django_db

BREAKERS = "/api/v1/operations/breakers"
AUDIT = "/api/v1/operations/audit"


def exposition(**states: int) -> str:
    """A worker's metrics, as the Temporal runtime serves them: other families around the breakers'."""
    lines = [
        "# HELP temporal_request Temporal client requests",
        "# TYPE temporal_request counter",
        'temporal_request{operation="PollWorkflowTaskQueue",service_name="temporal-core-sdk"} 12',
        "# HELP saga_breaker_open 1 while the service's circuit breaker is not closed",
        "# TYPE saga_breaker_open gauge",
        *(
            f'saga_breaker_open{{service="{service}",service_name="temporal-core-sdk"}} {value}'
            for service, value in states.items()
        ),
        "# HELP saga_orders Orders whose saga ended",
        "# TYPE saga_orders counter",
        'saga_orders{outcome="CONFIRMED",reason=""} 3',
    ]
    return "\n".join(lines) + "\n"


class FakeWorker:
    """A worker's metrics endpoint on a free local port: answers `body` with `status`, after `delay`
    (or at once when it is closed)."""

    def __init__(self, body: str | bytes = "", status: int = 200, delay: float = 0.0) -> None:
        worker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                worker.closed.wait(worker.delay)
                data = worker.body if isinstance(worker.body, bytes) else worker.body.encode()
                self.send_response(worker.status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.body, self.status, self.delay = body, status, delay
        self.closed = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/metrics"

    def close(self) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def workers(settings):
    """`workers(FakeWorker(...), ...)`: order_svc reads exactly these workers' endpoints."""
    started: list[FakeWorker] = []

    def use(*fakes: FakeWorker) -> None:
        started.extend(fakes)
        settings.ORDER_WORKER_METRICS_URLS = [fake.url for fake in fakes]

    yield use
    for fake in started:
        fake.close()


def free_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/metrics"


def states_of(response) -> dict[str, str]:
    assert response.status_code == 200, response.content
    return {breaker["service"]: breaker["state"] for breaker in response.json()["breakers"]}


# --- breakers ---


def test_a_worker_reporting_an_open_breaker_shows_it_open_and_the_others_closed(operator, workers):
    workers(FakeWorker(exposition(inventory_svc=0, payment_svc=1, order_svc=0)))

    r = operator.get(BREAKERS)

    assert r.json()["breakers"] == [
        {"service": "inventory_svc", "state": "closed"},
        {"service": "payment_svc", "state": "open"},
        {"service": "order_svc", "state": "closed"},
    ]
    read_at = r.json()["read_at"]
    assert read_at.endswith("Z")
    assert abs(datetime.fromisoformat(read_at).timestamp() - time.time()) < 5


def test_a_breaker_is_open_if_any_worker_has_it_open(operator, workers):
    workers(
        FakeWorker(exposition(inventory_svc=0, payment_svc=0, order_svc=0)),
        FakeWorker(exposition(inventory_svc=1, payment_svc=0, order_svc=0)),
    )
    assert states_of(operator.get(BREAKERS)) == {
        "inventory_svc": "open",
        "payment_svc": "closed",
        "order_svc": "closed",
    }


def test_a_service_no_worker_reports_is_unknown_and_an_unknown_one_is_listed_last(operator, workers):
    workers(FakeWorker(exposition(payment_svc=0, shipping_svc=1)))
    assert list(states_of(operator.get(BREAKERS)).items()) == [
        ("inventory_svc", "unknown"),
        ("payment_svc", "closed"),
        ("order_svc", "unknown"),
        ("shipping_svc", "open"),
    ]


@pytest.mark.parametrize(
    "worker",
    [
        pytest.param(lambda: FakeWorker("not { a metric at all\n"), id="garbage"),
        pytest.param(lambda: FakeWorker(exposition(payment_svc=1), status=500), id="a-500"),
        pytest.param(
            lambda: FakeWorker(b'saga_breaker_open{service="payment_svc"} 1\n\xff\xfe'), id="not-utf8"
        ),
    ],
)
def test_a_worker_that_answers_nonsense_counts_as_not_answering(operator, workers, worker):
    workers(worker())
    assert set(states_of(operator.get(BREAKERS)).values()) == {"unknown"}


def test_unreachable_and_slow_workers_make_their_breakers_unknown_within_one_deadline(
    operator, workers, settings
):
    """The deadline is raised from its default second so that the answering worker, in this process,
    answers within it however busy the machine is; two slow workers past it show they are asked at
    once, since one after the other they would take two deadlines."""
    settings.ORDER_WORKER_METRICS_TIMEOUT_SECONDS = deadline = 3.0
    slow = [FakeWorker(exposition(payment_svc=1), delay=60) for _ in range(2)]
    answering = FakeWorker(exposition(inventory_svc=0, payment_svc=0, order_svc=1))
    workers(*slow, answering)
    settings.ORDER_WORKER_METRICS_URLS = [free_url(), *(fake.url for fake in slow), answering.url]

    started = time.monotonic()
    states = states_of(operator.get(BREAKERS))

    assert time.monotonic() - started < 2 * deadline, "each worker is asked at once, within the deadline"
    assert states == {"inventory_svc": "closed", "payment_svc": "closed", "order_svc": "open"}


def test_with_no_worker_to_ask_every_breaker_is_unknown(operator, settings):
    settings.ORDER_WORKER_METRICS_URLS = []
    assert states_of(operator.get(BREAKERS)) == {
        "inventory_svc": "unknown",
        "payment_svc": "unknown",
        "order_svc": "unknown",
    }


def test_the_exposition_is_read_by_the_gauges_name_and_service_label_only():
    text = exposition(payment_svc=1) + "\n".join(
        [
            "# TYPE saga_breaker_open_other gauge",
            'saga_breaker_open_other{service="inventory_svc"} 1',
            "# TYPE unrelated gauge",
            'unrelated{service="order_svc"} 1',
        ]
    )
    assert breakers_in_exposition(text) == {"payment_svc": 1.0}
    with pytest.raises(ValueError, match="could not convert"):
        breakers_in_exposition('saga_breaker_open{service="x" 1\n')


def test_reports_combine_open_over_closed_and_keep_unreported_services_unknown():
    assert combine_breaker_reports([]) == {
        "inventory_svc": "unknown",
        "payment_svc": "unknown",
        "order_svc": "unknown",
    }
    combined = combine_breaker_reports([{"payment_svc": 0.0}, {"payment_svc": 1.0, "order_svc": 0.0}])
    assert combined == {"inventory_svc": "unknown", "payment_svc": "open", "order_svc": "closed"}


# --- the last audit ---

CLEAN = AuditRunReport(
    workflow_id="audit-2026-01-01T12:00:00Z",
    status="COMPLETED",
    audited_at="2026-01-01T12:00:03+00:00",
    violations=0,
    by_invariant={"money": 0, "stock": 0},
    summary=["money         checked 6      OK", "stock         checked 7      OK"],
)


def test_no_audit_run_yet_is_null(operator, sagas):
    assert operator.get(AUDIT).json() == {"audit": None}
    assert [call.method for call in sagas.calls] == ["latest_audit"]


def test_a_completed_run_answers_what_it_found(operator, sagas):
    sagas.script(latest_audit=[CLEAN])
    assert operator.get(AUDIT).json() == {
        "audit": {
            "workflow_id": "audit-2026-01-01T12:00:00Z",
            "status": "COMPLETED",
            "audited_at": "2026-01-01T12:00:03+00:00",
            "violations": 0,
            "by_invariant": {"money": 0, "stock": 0},
            "summary": ["money         checked 6      OK", "stock         checked 7      OK"],
            "message": None,
        }
    }


def test_a_failed_run_answers_its_status_and_message(operator, sagas):
    failed = audit_report_failed(
        workflow_id="audit-2",
        status="FAILED",
        closed_at="2026-01-01T12:05:00+00:00",
        message="Activity task failed: payment_svc answered 503",
    )
    sagas.script(latest_audit=[failed])
    assert operator.get(AUDIT).json() == {
        "audit": {
            "workflow_id": "audit-2",
            "status": "FAILED",
            "audited_at": "2026-01-01T12:05:00+00:00",
            "violations": None,
            "by_invariant": None,
            "summary": [],
            "message": "Activity task failed: payment_svc answered 503",
        }
    }


def test_temporal_unreachable_is_503_in_the_error_shape(operator, sagas):
    sagas.script(latest_audit=[SagaUnreachable("Temporal did not answer within 5 s")])
    r = operator.get(AUDIT)
    assert_error(r, 503, "saga_unavailable")
    assert "audit" in r.json()["message"]


def test_a_completed_runs_result_is_read_field_by_field():
    outcome = {
        "ok": False,
        "violations": 2,
        "by_invariant": {"money": 2, "stock": 0, "odd": "x", "negative": -1, "flag": True},
        "seen": {"orders": 9},
        "audited_at": "2026-01-01T12:00:03+00:00",
        "report": ["money  checked 6  2 violations", 7],
    }
    report = audit_report_completed(workflow_id="audit-3", result=outcome, closed_at="later")
    assert (report.violations, report.by_invariant, report.summary, report.audited_at) == (
        2,
        {"money": 2, "stock": 0},
        ["money  checked 6  2 violations"],
        "2026-01-01T12:00:03+00:00",
    )
    odd = audit_report_completed(workflow_id="audit-4", result="not an outcome", closed_at="2026-01-02")
    assert (odd.status, odd.violations, odd.by_invariant, odd.summary, odd.audited_at) == (
        "COMPLETED",
        None,
        None,
        [],
        "2026-01-02",
    )
    assert odd.message


# --- who may read ---


@pytest.mark.parametrize("path", [BREAKERS, AUDIT])
def test_only_operators_read_the_operations(path, customer, saga, auditor, anonymous, sagas, settings):
    settings.ORDER_WORKER_METRICS_URLS = []
    for caller in (customer("alice"), saga, auditor):
        assert_error(caller.get(path), 403, "permission_denied")
    assert_error(anonymous.get(path), 401, "not_authenticated")
    assert sagas.calls == [], "a refused caller never reaches Temporal"
