"""`manage.py create_operator EMAIL`: an operator whose password is read from standard input, so it
never shows in a process list or a shell's history."""

import io

import pytest
from accounts.models import User
from django.core.management import CommandError, call_command

from chassis.events.models import OutboxEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _standard_input(monkeypatch):
    """The command reads sys.stdin itself; each test types its password there."""
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))


def test_it_creates_an_operator_with_the_password_typed_in():
    out = io.StringIO()

    call_command("create_operator", " Olivia@Example.com", stdout=out)

    olivia = User.objects.get()
    assert (olivia.email, olivia.role, olivia.roles) == ("olivia@example.com", "operator", ["operator"])
    assert olivia.check_password(PASSWORD)
    assert out.getvalue() == f"operator olivia@example.com created (subject {olivia.subject})\n"
    assert not OutboxEvent.objects.exists()


def test_a_weak_password_is_refused_with_the_reasons(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("password1234\n"))

    with pytest.raises(CommandError) as refused:
        call_command("create_operator", "olivia@example.com")
    assert str(refused.value) == "the password is refused: This password is too common."
    assert not User.objects.exists()


def test_an_address_already_registered_is_refused(alice):
    with pytest.raises(CommandError) as refused:
        call_command("create_operator", alice.email)
    assert str(refused.value) == f"a user with the address {alice.email} already exists"
    assert User.objects.get() == alice
