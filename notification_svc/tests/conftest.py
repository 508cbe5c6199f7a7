import pytest

from tests.mail import FlakyEmailBackend

pytest_plugins = ["chassis.testing"]


@pytest.fixture
def failing_sends(settings, mailoutbox):
    """`failing_sends(n)`: the next n sends fail as an SMTP server that hangs up would; the ones after
    land in `mailoutbox` like any test email."""
    settings.EMAIL_BACKEND = "tests.mail.FlakyEmailBackend"

    def fail(count):
        FlakyEmailBackend.failures_left = count

    yield fail
    FlakyEmailBackend.failures_left = 0
