"""Idempotency-Key handling for mutating POSTs, stored with the effect it guards."""
