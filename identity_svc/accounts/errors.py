"""The refusals of identity_svc's API, in the chassis's error shape."""

from rest_framework import status

from chassis.errors import Conflict, DomainError, NotFound


class UserExists(Conflict):
    code = "user_exists"
    message = "A user with this email address or subject already exists."


class UserNotFound(NotFound):
    message = "No user has this token's subject."


class PasswordRefused(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "password_refused"
    message = "The password is too weak."
