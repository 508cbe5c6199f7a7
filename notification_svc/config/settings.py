"""Settings of notification_svc: the chassis defaults, this service's own app, and how it sends email.

With EMAIL_HOST set, email goes out over SMTP; without it (the embedded default) each email is written
as a file under <var>/mail. Production refuses to start without an SMTP server.
"""

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from chassis.settings import service_settings

_env = os.environ
_chassis = service_settings(
    name="notification",
    base_dir=Path(__file__).resolve().parent.parent,
    # A notification's delivery state and its kind are one enumeration each in the schema.
    enum_names={
        "NotificationStatus": "notifications.models.Notification.Status",
        "NotificationType": "notifications.models.Notification.Type",
    },
    apps=["notifications"],
    description="Email to customers about their orders: a customer reads the notifications sent about its "
    "own orders; operators and the auditor read every notification with its delivery state.",
)
globals().update(_chassis)


def _seconds(name: str, default: str) -> float:
    value = _env.get(name) or default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 24 * 3600:
        raise ImproperlyConfigured(
            f"{name} must be a number of seconds above 0 and at most a day, not {value!r}"
        )
    return seconds


# Email. Production sends over SMTP; development and tests write files unless EMAIL_HOST is set.
EMAIL_HOST = _env.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    _port = _env.get("EMAIL_PORT") or "25"
    if not _port.isdigit() or not 0 < int(_port) < 65536:
        raise ImproperlyConfigured(f"EMAIL_PORT must be a TCP port, not {_port!r}")
    EMAIL_PORT = int(_port)
    EMAIL_HOST_USER = _env.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _env.get("EMAIL_HOST_PASSWORD", "")
    _tls = _env.get("EMAIL_USE_TLS") or "0"
    if _tls not in ("0", "1"):
        raise ImproperlyConfigured(f"EMAIL_USE_TLS must be 0 or 1, not {_tls!r}")
    EMAIL_USE_TLS = _tls == "1"
    EMAIL_TIMEOUT = 10
    """Seconds one SMTP operation may take before the send counts as failed."""
elif _env.get("DJANGO_ENV") == "production":  # service_settings has checked its value
    raise ImproperlyConfigured("production settings need EMAIL_HOST")
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(_chassis["VAR_DIR"] / "mail")
DEFAULT_FROM_EMAIL = _env.get("NOTIFICATION_FROM") or "orders@shop.invalid"

NOTIFICATION_RECIPIENT_DOMAIN = _env.get("NOTIFICATION_RECIPIENT_DOMAIN") or "customers.invalid"
"""The domain of the address a customer is mailed at while identity_svc has told no address of its own
(notifications.emails.recipient_of)."""
if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", NOTIFICATION_RECIPIENT_DOMAIN):
    raise ImproperlyConfigured(
        f"NOTIFICATION_RECIPIENT_DOMAIN must be a domain name, not {NOTIFICATION_RECIPIENT_DOMAIN!r}"
    )

# The sender (notifications.services.notification_send_due, run by `manage.py notify`).
NOTIFICATION_RETRY_FIRST_SECONDS = _seconds("NOTIFICATION_RETRY_FIRST_SECONDS", "1")
NOTIFICATION_RETRY_MAX_SECONDS = _seconds("NOTIFICATION_RETRY_MAX_SECONDS", "60")
"""A failed send is tried again after the first delay, doubling per failure up to the maximum."""
NOTIFICATION_LEASE_SECONDS = _seconds("NOTIFICATION_LEASE_SECONDS", "60")
"""How long a sender holds a notification it claimed before another sender may take it over, in case
the first one died. It must outlast one send."""

if NOTIFICATION_RETRY_MAX_SECONDS < NOTIFICATION_RETRY_FIRST_SECONDS:
    raise ImproperlyConfigured(
        "NOTIFICATION_RETRY_MAX_SECONDS must not be below NOTIFICATION_RETRY_FIRST_SECONDS"
    )
if EMAIL_HOST and NOTIFICATION_LEASE_SECONDS <= 3 * EMAIL_TIMEOUT:
    raise ImproperlyConfigured(
        "NOTIFICATION_LEASE_SECONDS must outlast a send (3 × EMAIL_TIMEOUT: connect, send, quit), or a second "
        "sender would take a notification the first is still sending"
    )

# /metrics also reports the notifications waiting to be sent and the failed sends (chassis.telemetry).
METRICS_COLLECTORS = ["notifications.metrics.NotificationCollector"]
