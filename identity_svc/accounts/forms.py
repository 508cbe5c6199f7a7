"""The forms of identity_svc's pages. Django's own for signing in and changing a password; sign-up
checks the password before it looks at the address, so a weak password is refused alike for a new
and a registered address."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation

from accounts.models import User, normalize_email


class SignUpForm(forms.Form):
    email = forms.EmailField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput, strip=False, max_length=128)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "email" in cleaned and "password" in cleaned:
            cleaned["email"] = normalize_email(cleaned["email"])
            try:
                password_validation.validate_password(cleaned["password"], User(email=cleaned["email"]))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned
