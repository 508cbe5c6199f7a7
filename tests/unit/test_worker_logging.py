"""The worker's JSON log lines: one object per record, with the saga's ids wherever known."""

import json
import logging

from orchestrator.worker import JsonLineFormatter


def record(**extra: object) -> logging.LogRecord:
    log_record = logging.LogRecord(
        "orchestrator", logging.INFO, __file__, 1, "hello %s", ("x",), None
    )
    log_record.__dict__.update(extra)
    return log_record


def test_activity_record_carries_order_workflow_and_activity() -> None:
    line = json.loads(
        JsonLineFormatter().format(
            record(
                order_id="o-1",
                temporal_activity={
                    "workflow_id": "order-o-1",
                    "activity_type": "reserve_stock",
                    "attempt": 2,
                },
            )
        )
    )

    assert line["message"] == "hello x"
    assert (line["order_id"], line["workflow_id"]) == ("o-1", "order-o-1")
    assert (line["activity"], line["attempt"]) == ("reserve_stock", 2)


def test_plain_record_has_null_ids() -> None:
    line = json.loads(JsonLineFormatter().format(record()))

    assert (line["level"], line["order_id"], line["workflow_id"]) == ("INFO", None, None)
    assert "activity" not in line
