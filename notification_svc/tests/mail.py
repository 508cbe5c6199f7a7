"""An email backend for tests that fails a chosen number of sends before it delivers again."""

import smtplib

from django.core.mail.backends.locmem import EmailBackend


class FlakyEmailBackend(EmailBackend):
    """Django's test backend (mail.outbox), failing while `failures_left` is above 0: a new backend
    is made for each send, so the count lives on the class."""

    failures_left = 0

    def send_messages(self, messages):
        if FlakyEmailBackend.failures_left > 0:
            FlakyEmailBackend.failures_left -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
