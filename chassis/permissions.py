"""What each kind of caller may do, as DRF permission classes that read like the trust table:

    customer   its own orders and its own account (views scope objects to `customer_id`)
    operator   the catalog, accounts and deposits, every read the auditor needs, fault injection
    the saga   the saga's commands under /internal/v1/, and nothing else
    auditor    the GETs the scheduled audit reads (views name it with `AuditorReads`), nothing else
    anyone     a public read (inventory_svc's catalog): a view without authentication classes, naming
               DRF's `AllowAny`, so that no token is needed and none is read

Views name who may call them (`permission_classes = [IsOperator]`); a view that names no one
refuses everyone (`DenyAll`, the default), so a forgotten declaration fails closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:  # DRF's views import the permission classes that settings name: no cycle at run time
    from rest_framework.request import Request
    from rest_framework.views import APIView

from chassis.auth import AUDITOR, CUSTOMER, OPERATOR, SAGA


def _kind(request: Request) -> str | None:
    return getattr(request.user, "kind", None)


class DenyAll(BasePermission):
    message = "This endpoint is open to no caller."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return False


class IsCustomer(BasePermission):
    message = "Only a customer may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return _kind(request) == CUSTOMER


class IsOperator(BasePermission):
    message = "Only an operator may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return _kind(request) == OPERATOR


class IsSaga(BasePermission):
    message = "Only the order saga may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return _kind(request) == SAGA


class AuditorReads(BasePermission):
    """The auditor, and only for reading: a view the audit reads names it beside its other callers
    (`[IsOperator | AuditorReads]`), and the auditor's POST, PUT or DELETE there is still refused."""

    message = "The auditor may only read."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return _kind(request) == AUDITOR and request.method in ("GET", "HEAD")
