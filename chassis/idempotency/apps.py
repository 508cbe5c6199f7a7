from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "chassis.idempotency"
    label = "idempotency"
    verbose_name = "Idempotency keys"
