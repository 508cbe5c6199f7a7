"""What the emails say: a confirmed order's lines with quantities, unit prices and total; a cancelled
order's reason in plain words and its total when known; HTML escaped; one address per customer, the
registered one when identity_svc told it."""

import pytest
from notifications.emails import REASONS, order_cancelled_email, order_confirmed_email, recipient_of
from notifications.services import notification_receive

from saga_contract import CancellationReason
from tests.factories import cancelled, confirmed, registered

ORDER_ID = "3f1c2b7e-8d4a-4c55-9e0f-6a7b8c9d0e1f"


def test_a_confirmed_order_lists_its_lines_and_total():
    email = order_confirmed_email(confirmed(order_id=ORDER_ID, total_cents=4990)["data"])

    assert email.subject == "Your order 3f1c2b7e is confirmed"
    assert ORDER_ID in email.text
    assert "2 × BEANS-1KG at 18.90 USD = 37.80 USD" in email.text
    assert "1 × MUG-CERAMIC at 12.10 USD = 12.10 USD" in email.text
    assert "Total: 49.90 USD" in email.text
    for words in (ORDER_ID, "BEANS-1KG", "18.90 USD", "37.80 USD", "MUG-CERAMIC", "12.10 USD", "49.90 USD"):
        assert words in email.html


def test_a_line_without_a_unit_price_is_listed_without_one():
    email = order_confirmed_email(confirmed(lines=[{"sku": "TEA", "quantity": 3}], total_cents=0)["data"])
    assert "  3 × TEA\n" in email.text


@pytest.mark.parametrize("reason", list(CancellationReason))
def test_every_cancellation_reason_is_told_in_plain_words(reason):
    email = order_cancelled_email(cancelled(order_id=ORDER_ID, reason=reason)["data"])

    assert email.subject == "Your order 3f1c2b7e was cancelled"
    assert REASONS[reason] in email.text
    assert REASONS[reason] in email.html
    assert reason.value not in email.text, "the words, not the code"
    assert "came to" not in email.text, "no total before stock was priced"


def test_the_reasons_read_as_sentences():
    assert set(REASONS) == set(CancellationReason)
    assert all(words[0].isupper() and words.endswith(".") for words in REASONS.values())


def test_a_cancelled_order_with_a_known_total_names_it():
    email = order_cancelled_email(cancelled(reason="payment_declined", total_cents=123456)["data"])
    assert "The payment was declined." in email.text
    assert "The order came to 1234.56 USD." in email.text
    assert "1234.56 USD" in email.html


def test_a_reason_this_service_does_not_know_still_says_the_order_was_cancelled():
    email = order_cancelled_email(cancelled(reason="meteor_strike")["data"])
    assert "was cancelled. We could not complete it." in email.text
    assert "meteor_strike" not in email.text


def test_html_is_escaped_and_plain_text_is_not():
    email = order_confirmed_email(confirmed(lines=[{"sku": "<b>&MUG", "quantity": 1}])["data"])
    assert "&lt;b&gt;&amp;MUG" in email.html
    assert "<b>" not in email.html
    assert "1 × <b>&MUG" in email.text


@pytest.mark.django_db
def test_each_customer_gets_an_address_of_its_own_under_the_configured_domain(settings):
    assert recipient_of("alice") == "alice@customers.invalid"
    settings.NOTIFICATION_RECIPIENT_DOMAIN = "mail.shop.example"
    assert recipient_of("bob.smith") == "bob.smith@mail.shop.example"
    assert recipient_of("bob@home") == '"bob@home"@mail.shop.example', "quoted, so the domain stays ours"


@pytest.mark.django_db
def test_a_registered_customer_is_mailed_at_the_registered_address_and_others_are_not(settings):
    notification_receive(registered(customer_id="alice", email="alice.smith@example.com"), trace_context={})
    settings.NOTIFICATION_RECIPIENT_DOMAIN = "mail.shop.example"

    assert recipient_of("alice") == "alice.smith@example.com"
    assert recipient_of("bob") == "bob@mail.shop.example"
