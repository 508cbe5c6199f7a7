"""Reads of identity_svc's users, for its API. Nothing here changes state."""

from __future__ import annotations

from accounts.errors import UserNotFound
from accounts.models import User


def user_get(*, subject: str) -> User:
    """The user whose token subject is `subject`; UserNotFound when there is none."""
    user = User.objects.filter(subject=subject).first()
    if user is None:
        raise UserNotFound()
    return user
