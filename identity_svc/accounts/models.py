"""Users, the OAuth clients that may ask for their tokens, and the keys that sign those tokens."""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from oauth2_provider.models import AbstractApplication

from chassis.tokens import ROLE_OPERATOR


def new_subject() -> str:
    """A new customer's id: the `sub` of its tokens, and its `customer_id` everywhere else."""
    return f"c-{secrets.token_hex(10)}"


def normalize_email(email: str) -> str:
    """One spelling per address: trimmed and lower-cased, so it is unique however it was typed."""
    return email.strip().lower()


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_email(username or ""))

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        """`manage.py createsuperuser`: an operator who may also use the admin."""
        fields |= {"role": User.Role.OPERATOR, "is_staff": True, "is_superuser": True}
        return self.create_user(email, password, **fields)


# The type checker cannot see Client's relation to User: django-oauth-toolkit ships no types.
class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]
    """A customer or an operator. The email signs in; the `subject` never changes and is what the
    other services know the user by."""

    class Role(models.TextChoices):
        CUSTOMER = "customer"
        OPERATOR = ROLE_OPERATOR

    subject = models.CharField(max_length=64, unique=True, default=new_subject, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        """A form that saves a user (the admin's) stores the address in its one spelling, so that it
        stays unique and its owner can still sign in with it."""
        super().clean()
        self.email = normalize_email(self.email)

    @property
    def roles(self) -> list[str]:
        """The `roles` claim of this user's tokens: none for a customer."""
        return [ROLE_OPERATOR] if self.role == self.Role.OPERATOR else []


class Client(AbstractApplication):
    """An OAuth client (django-oauth-toolkit's application), with the roles its own tokens carry when
    it signs in as itself (client credentials: the saga worker, the auditor) and whether it is a
    development client, which production refuses."""

    roles = models.JSONField(default=list, blank=True)
    development = models.BooleanField(default=False)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

    def clean(self) -> None:
        """django-oauth-toolkit's checks, but the one that looks for a signing key in the settings:
        every client signs with RS256 and the keys live in the database (accounts.keys)."""
        try:
            super().clean()
        except ValidationError as error:
            errors = {
                field: messages for field, messages in error.message_dict.items() if field != "algorithm"
            }
            if errors:
                raise ValidationError(errors) from None

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exactly one of the registered URIs, character for character. django-oauth-toolkit would
        let a loopback URI change its port (RFC 8252's native apps); this provider's clients are web
        front ends, whose port is part of their address."""
        return uri in self.redirect_uris.split()

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        """Exactly one of the registered post-logout URIs, as for redirect URIs (RP-initiated logout)."""
        return uri in self.post_logout_redirect_uris.split()

    @property
    def jwk_key(self) -> Any:
        """The key that signs this client's ID tokens: the provider's current signing key."""
        from accounts.keys import current_key

        return current_key().jwk


class SigningKey(models.Model):
    """An RSA key that signs tokens. It is published in the JWKS from its creation, signs from
    `signs_from` until a newer key does, and stays published until `published_until`, when the last
    token it signed has expired."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    signs_from = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    published_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.kid
