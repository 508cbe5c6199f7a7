"""Who may read what on notification_svc: a customer reads the notifications about its own orders
(another customer's is not found, never forbidden); an operator and the auditor read every one with
its delivery state; the saga reads none; nobody gets in without a token."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from notifications.models import Notification
from notifications.services import notification_send_due

from chassis.testing import Endpoint, access_cases, assert_error, assert_refused
from tests.factories import cancelled, confirmed, notification_create

pytestmark = pytest.mark.django_db

ALICES = uuid.UUID("00000000-0000-4000-8000-000000000001")
"""The notification about alice's confirmed order that every test starts with."""
CUSTOMER_FIELDS = {"id", "order_id", "type", "subject", "status", "created_at", "sent_at"}
DELIVERY_FIELDS = {"customer_id", "recipient", "attempts", "last_error", "next_attempt_at"}

READERS = frozenset({"customer", "operator", "auditor"})
ENDPOINTS = [
    Endpoint("GET", "/api/v1/notifications", READERS, 200),
    Endpoint("GET", f"/api/v1/notifications/{ALICES}", READERS, 200),
    Endpoint("POST", "/internal/v1/idempotency-records/purge", frozenset({"saga"}), 200, {}),
]
RIGHT_CALLERS, WRONG_CALLERS = access_cases(ENDPOINTS)


@pytest.fixture(autouse=True)
def alices_notification():
    notification = notification_create(confirmed(customer_id="alice"))
    Notification.objects.filter(pk=notification.pk).update(id=ALICES)


def state():
    return list(Notification.objects.values_list("id", "status", "attempts"))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_without_a_token_every_endpoint_is_401_and_changes_nothing(anonymous, endpoint):
    assert_refused(lambda: endpoint.call(anonymous), 401, "not_authenticated", state=state)


@pytest.mark.parametrize(("endpoint", "kind"), WRONG_CALLERS)
def test_the_wrong_kind_of_caller_is_403_and_changes_nothing(callers, endpoint, kind):
    assert_refused(lambda: endpoint.call(callers[kind]), 403, "permission_denied", state=state)


@pytest.mark.parametrize(("endpoint", "kind"), RIGHT_CALLERS)
def test_the_right_caller_gets_through(callers, endpoint, kind):
    r = endpoint.call(callers[kind])
    assert r.status_code == endpoint.success, r.content


def test_a_customer_lists_its_own_notifications_only_whatever_the_filter(customer):
    bobs = notification_create(cancelled(customer_id="bob"))
    alice, bob = customer("alice"), customer("bob")

    assert [n["id"] for n in alice.get("/api/v1/notifications").json()["results"]] == [str(ALICES)]
    assert [n["id"] for n in bob.get("/api/v1/notifications").json()["results"]] == [str(bobs.id)]
    named_other = alice.get("/api/v1/notifications", {"customer_id": "bob"}).json()
    assert named_other["count"] == 0
    assert named_other["results"] == []
    assert alice.get("/api/v1/notifications", {"order_id": str(bobs.order_id)}).json()["count"] == 0


def test_a_customer_sees_what_was_sent_to_it_but_not_the_delivery_state(customer):
    notification_send_due()
    page = customer("alice").get("/api/v1/notifications").json()
    detail = customer("alice").get(f"/api/v1/notifications/{ALICES}").json()

    assert page["results"] == [detail]
    assert set(detail) == CUSTOMER_FIELDS
    notification = Notification.objects.get()
    assert detail["order_id"] == str(notification.order_id)
    assert detail["type"] == "order.confirmed"
    assert detail["subject"] == notification.subject
    assert detail["status"] == "SENT"
    assert detail["sent_at"] is not None


def test_a_customer_reads_its_own_notification_and_not_another_customers(customer):
    others = customer("bob").get(f"/api/v1/notifications/{ALICES}")
    missing = customer("bob").get(f"/api/v1/notifications/{uuid.uuid4()}")

    assert_error(others, 404, "notification_not_found")
    assert others.json()["message"] == missing.json()["message"], "just like one that does not exist"
    assert customer("alice").get(f"/api/v1/notifications/{ALICES}").status_code == 200


@pytest.mark.parametrize("kind", ["operator", "auditor"])
def test_operators_and_the_auditor_read_every_notification_with_its_delivery_state(callers, kind):
    bobs = notification_create(cancelled(customer_id="bob"))
    reader = callers[kind]

    page = reader.get("/api/v1/notifications").json()
    assert page["count"] == 2
    assert [n["id"] for n in page["results"]] == [str(bobs.id), str(ALICES)], "newest first"
    detail = reader.get(f"/api/v1/notifications/{bobs.id}").json()
    assert set(detail) == CUSTOMER_FIELDS | DELIVERY_FIELDS
    assert detail["customer_id"] == "bob"
    assert detail["recipient"] == "bob@customers.invalid"
    assert detail["attempts"] == 0
    assert detail["last_error"] == ""
    assert detail["status"] == "PENDING"
    assert detail["sent_at"] is None


def test_an_operator_filters_by_customer_status_and_order(operator, failing_sends):
    bobs = notification_create(cancelled(customer_id="bob"))
    failing_sends(1)
    Notification.objects.filter(pk=bobs.pk).update(next_attempt_at=timezone.now() + timedelta(days=1))
    notification_send_due()  # alice's fails
    Notification.objects.filter(pk=bobs.pk).update(next_attempt_at=timezone.now())
    Notification.objects.filter(pk=ALICES).update(next_attempt_at=timezone.now() + timedelta(days=1))
    notification_send_due()  # bob's goes out

    def ids(**query):
        return [n["id"] for n in operator.get("/api/v1/notifications", query).json()["results"]]

    assert ids(customer_id="bob") == [str(bobs.id)]
    assert ids(status="SENT") == [str(bobs.id)]
    assert ids(status="PENDING") == [str(ALICES)]
    assert ids(order_id=str(bobs.order_id)) == [str(bobs.id)]
    assert ids(customer_id="alice", status="SENT") == []
    failed = operator.get(f"/api/v1/notifications/{ALICES}").json()
    assert failed["attempts"] == 1
    assert failed["last_error"].startswith("SMTPServerDisconnected")


def test_the_list_is_paginated(operator):
    for _ in range(3):
        notification_create()
    first = operator.get("/api/v1/notifications", {"page_size": 3}).json()
    assert first["count"] == 4
    assert len(first["results"]) == 3
    assert first["next"] is not None
    assert_error(operator.get("/api/v1/notifications", {"page": 9}), 404, "not_found")
