"""Test data: users as the service creates them (accounts.services), with one good password."""

from accounts.models import User
from accounts.services import user_create

PASSWORD = "correct horse battery staple"
"""A password Django's validators accept."""
OTHER_PASSWORD = "a different long passphrase"


def customer_create(*, email: str, password: str = PASSWORD) -> User:
    return user_create(email=email, password=password)


def operator_create(*, email: str = "olivia@example.com", password: str = PASSWORD) -> User:
    return user_create(email=email, password=password, role=User.Role.OPERATOR)
