"""What changes accounts: creating users (and telling the system a customer registered), and the
name a sign-in attempt is counted under."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from oauth2_provider.models import get_refresh_token_model

from accounts.errors import PasswordRefused, UserExists
from accounts.models import User, normalize_email
from chassis.events.services import event_record
from saga_contract.events import EventType


def user_create(
    *, email: str, password: str, role: str = User.Role.CUSTOMER, subject: str | None = None
) -> User:
    """A new user; a customer's registration is published as `identity.customer_registered` in the
    same transaction. UserExists when the email or the subject is taken; PasswordRefused (with the
    validators' reasons) when the password is too weak."""
    email = normalize_email(email)
    user = User(email=email, role=role, **({"subject": subject} if subject else {}))
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise PasswordRefused(reasons=list(error.messages)) from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
            if user.role == User.Role.CUSTOMER:
                event_record(
                    EventType.CUSTOMER_REGISTERED,
                    key=user.subject,
                    data={"customer_id": user.subject, "email": user.email},
                )
    except IntegrityError:
        raise UserExists() from None
    return user


def customer_sign_up(*, email: str, password: str) -> User | None:
    """A customer signs up. None when the address is taken: the caller answers exactly as for a new
    account, and the password is hashed all the same, so neither the answer nor its time tells
    whether an address is registered."""
    if User.objects.filter(email=normalize_email(email)).exists():
        make_password(password)
        return None
    try:
        return user_create(email=email, password=password)
    except UserExists:
        return None


def grants_revoke(*, user: User) -> int:
    """Revoke every refresh token of `user`, with the access token each was issued with; how many.
    Access tokens already handed out stay valid at the services until they expire (they are JWTs
    checked offline): at most IDENTITY_ACCESS_TOKEN_SECONDS."""
    tokens = list(get_refresh_token_model().objects.filter(user=user, revoked__isnull=True))
    for token in tokens:
        token.revoke()
    return len(tokens)


def sign_in_name(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The account a sign-in attempt is counted under by django-axes: the address as normalised."""
    if credentials and credentials.get("username"):
        return normalize_email(str(credentials["username"]))
    if request is not None and hasattr(request, "POST"):
        return normalize_email(str(request.POST.get("username", "")))
    return ""
