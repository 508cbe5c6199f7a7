"""One row per (caller, endpoint, Idempotency-Key): the request's fingerprint and, once done, its answer."""

from django.db import models


class IdempotencyRecord(models.Model):
    class State(models.TextChoices):
        IN_FLIGHT = "IN_FLIGHT"
        COMPLETED = "COMPLETED"

    principal = models.CharField(
        max_length=200, help_text="The caller the key belongs to, e.g. customer:alice."
    )
    scope = models.CharField(max_length=255, help_text="Method and path the key belongs to.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical request body.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "scope", "key"], name="idempotency_principal_scope_key_unique"
            )
        ]
        indexes = [models.Index(fields=["updated_at"])]  # the purge deletes by when a record was last written

    def __str__(self) -> str:
        return f"{self.principal} {self.scope} {self.key} {self.state}"
