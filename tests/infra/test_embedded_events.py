"""The embedded default, as `make run` has it on a machine with no broker and no mail server: the
same publishers and notifier over kombu's filesystem transport under the var dir, and the mail
written to files there. An order's events reach notification_svc and its customer's mail is a file."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from infra.stack import Stack, StackConfig
from tests.support.api import Api
from tests.support.waiting import wait_for

pytestmark = pytest.mark.any_database


def test_without_a_broker_or_a_mail_server_the_customer_still_gets_the_mail(tmp_path: Path) -> None:
    config = StackConfig.on_free_ports(tmp_path / "var", rabbitmq_url=None)
    assert config.broker_url == "filesystem://"
    with Stack(config) as stack, Api.for_stack(stack) as api:
        sku = api.create_product(price_cents=700)["sku"]
        customer = api.create_account()["customer_id"]
        order = api.place_order(customer, {sku: 3})
        assert api.wait_for_final(order["id"])["status"] == "CONFIRMED"

        # SENT is recorded once the mail backend returned, so the file is whole by then: the file
        # backend creates it when it opens the stream, before the message is written.
        def listed() -> list[tuple[str, str]]:
            found = api.notification.check(api.notification.get("/api/v1/notifications"))["results"]
            return [(n["order_id"], n["status"]) for n in found]

        wait_for(lambda: listed() == [(order["id"], "SENT")], 30, "the order's notification sent")
        [written] = list((config.var_dir / "mail").iterdir())
        message = message_from_bytes(written.read_bytes(), policy=policy.default)
        assert message["X-Order-Id"] == order["id"]
        assert customer in message["To"]
        assert "21.00 USD" in message.get_body(preferencelist=("plain",)).get_content()

        waiting = api.order.check(api.order.get("/api/v1/events", params={"published": "false"}))["count"]
        assert waiting == 0, "every order event was published"
        assert (config.var_dir / "broker" / "control" / "order.events.exchange").exists()
