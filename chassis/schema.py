"""Each service's OpenAPI 3 schema (drf-spectacular) and its Swagger UI, served from local files.

The schema follows the services' conventions instead of repeating them on every view:

- a view's `InputSerializer` is its POST body, its `FilterSerializer` its GET query;
- an `@idempotent` POST takes the `Idempotency-Key` header (its pattern and length are the ones the
  decorator checks), and may answer 409 and 422;
- a body a `StrictSerializer` reads allows no other properties (`additionalProperties: false`): the
  serializer refuses unknown fields with 400;
- every operation needs a bearer token (`bearerAuth`) and may answer 401, 403 and 429, except a
  public one (a view without authentication classes), whose `security` is empty and which may answer
  429 only; an operation with a body or a query may answer 400, one with a path parameter or a page
  404; all in the error shape;
- a list answers a page (`page_of`), and takes the page's query (`PAGE_PARAMETERS`);
- a success answer may link to the operations that take what it returns (`linked`): the OpenAPI
  links a client, or a stateful test, follows from an order placed to its saga and its cancel.

Views declare what only they know: their success answers, the domain errors they raise, and examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, cast

from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from drf_spectacular.utils import Direction, OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from chassis.errors import THROTTLED, DomainError
from chassis.idempotency.decorators import HEADER as IDEMPOTENCY_HEADER
from chassis.idempotency.decorators import IN_FLIGHT, KEY_MAX_LENGTH, KEY_PATTERN, KEY_REUSED, KEY_RULE
from chassis.pagination import PageQuerySerializer


class ErrorSerializer(serializers.Serializer[Any]):
    """The one error shape of every service."""

    code = serializers.CharField(
        help_text="Machine-readable: `validation_error`, `not_found`, `out_of_stock`, ..."
    )
    message = serializers.CharField(help_text="For a person.")
    details = serializers.DictField(help_text="What the code needs: the fields that failed, a reason, ...")


STANDARD_ERRORS: dict[int, tuple[str, str, str, dict[str, Any]]] = {
    400: (
        "The body, the query or the Idempotency-Key is not valid.",
        "validation_error",
        "The request is not valid.",
        {"items": ["This field is required."]},
    ),
    401: (
        "No bearer token, or one that is not valid.",
        "not_authenticated",
        "Authentication credentials were not provided.",
        {},
    ),
    403: (
        "The token is valid, but its holder may not do this.",
        "permission_denied",
        "You do not have permission to perform this action.",
        {},
    ),
    404: ("Nothing here, or nothing this caller may see.", "not_found", "Not found.", {}),
    409: ("A request with this Idempotency-Key is still being processed.", *IN_FLIGHT, {}),
    413: (
        "The body is larger than 64 KiB.",
        "payload_too_large",
        "The body is larger than 65536 bytes.",
        {"max_bytes": 65536},
    ),
    422: ("This Idempotency-Key was used with another body.", *KEY_REUSED, {}),
    429: (
        "Too many requests: try again after Retry-After seconds.",
        THROTTLED,
        "Request was throttled. Expected available in 12 seconds.",
        {"retry_after_seconds": 12},
    ),
}


def error(
    status: int, description: str, code: str, message: str, details: dict[str, Any] | None = None
) -> OpenApiResponse:
    """A documented error answer: the error shape, with one example."""
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={"code": code, "message": message, "details": details or {}},
                response_only=True,
                status_codes=[str(status)],
            ),
        ],
    )


def answers(ok: Mapping[int, object], *domain_errors: type[DomainError]) -> dict[int, object]:
    """`@extend_schema(responses=...)` of an operation: its success answers (status -> serializer)
    and the domain errors (chassis.errors.DomainError subclasses) it may raise, one example each."""
    responses = dict(ok)
    by_status: dict[int, list[type[DomainError]]] = {}
    for domain_error in domain_errors:
        by_status.setdefault(domain_error.status_code, []).append(domain_error)
    for status, raised in by_status.items():
        responses[status] = OpenApiResponse(
            ErrorSerializer,
            description="; ".join(f"`{e.code}`: {e.message}" for e in raised),
            examples=[
                OpenApiExample(
                    e.code,
                    value={"code": e.code, "message": e.message, "details": {}},
                    response_only=True,
                    status_codes=[str(status)],
                )
                for e in raised
            ],
        )
    return responses


class LinkedResponse(OpenApiResponse):
    """A success answer, with the OpenAPI links from it to the operations that take what it returns."""

    def __init__(self, response: object, links: Mapping[str, Mapping[str, object]]) -> None:
        super().__init__(response)
        self.links = links


def linked(serializer: object, **links: Mapping[str, object]) -> LinkedResponse:
    """`serializer`'s answer, linked to each operation named by its operationId, whose `parameters`
    (by name) or `requestBody` the link fills from the answer with runtime expressions
    (`$response.body#/id`)."""
    return LinkedResponse(serializer, links)


@cache
def page_of(serializer: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The paginated envelope of a list of `serializer`."""
    name = serializer.__name__.removesuffix("Serializer").removesuffix("Output")
    page = type(
        f"{name}Page",
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer(many=True),
            "__doc__": f"One page of {name} items.",
        },
    )
    # A class made by `type` is a plain `type` to the checker; its one base says what it is.
    return cast(type[serializers.Serializer[Any]], page)


PAGE_PARAMETERS = [PageQuerySerializer]
"""`@extend_schema(parameters=...)` of a list: the page's query, as `paginated_response` checks it."""

NO_NUL_PATTERN = r"^[^\x00]*$"
"""A string without NUL characters, which every DRF CharField refuses."""

IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": KEY_MAX_LENGTH,
    "pattern": KEY_PATTERN,
}


class ServiceAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, taught the conventions above."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None and self._public():
            operation["security"] = []  # said outright: no token is needed here
        return operation

    def get_request_serializer(self) -> type[serializers.Serializer[Any]] | None:
        if self.method in ("POST", "PUT", "PATCH"):
            serializer: type[serializers.Serializer[Any]] | None = getattr(self.view, "InputSerializer", None)
            return serializer
        return None

    def get_override_parameters(
        self,
    ) -> list[OpenApiParameter | serializers.Serializer[Any] | type[serializers.Serializer[Any]]]:
        parameters = list(super().get_override_parameters())
        if self.method == "GET" and hasattr(self.view, "FilterSerializer"):
            parameters.append(self.view.FilterSerializer)
        if self._idempotent():
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    IDEMPOTENCY_KEY_SCHEMA,
                    OpenApiParameter.HEADER,
                    required=True,
                    description=f"{KEY_RULE}, new for each new request: the same key with the same body "
                    "replays the first answer (header Idempotent-Replayed: true), and never repeats the "
                    "effect.",
                )
            )
        return parameters

    def _get_response_for_code(
        self,
        serializer: object,
        status_code: str,
        media_types: list[str] | None = None,
        direction: Direction = "response",
    ) -> dict[str, Any]:
        answer: dict[str, Any] = super()._get_response_for_code(  # type: ignore[no-untyped-call]  # unannotated in drf-spectacular
            serializer, status_code, media_types, direction
        )
        if isinstance(serializer, LinkedResponse):
            answer["links"] = {
                operation_id: {"operationId": operation_id, **link}
                for operation_id, link in serializer.links.items()
            }
        return answer

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status in self._implied_errors():
            description, code, message, details = STANDARD_ERRORS[status]
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error(status, description, code, message, details), str(status), direction=direction
                )
            else:  # the view's own errors of this status, and this one too
                answer = responses[str(status)]
                answer["description"] = f"{answer['description']}; `{code}`: {description}"
                for content in answer.get("content", {}).values():
                    content.setdefault("examples", {})[code] = {
                        "value": {"code": code, "message": message, "details": details},
                        "summary": code,
                    }
        return dict(sorted(responses.items()))

    def _map_serializer_field(
        self,
        field: serializers.Field[Any, Any, Any, Any],
        direction: Direction,
        bypass_extensions: bool = False,
    ) -> dict[str, Any] | None:
        """drf-spectacular's mapping, with what it leaves out of a request: the bounds of a list of
        objects (a ListSerializer's `allow_empty=False` and `max_length`), and that a string DRF
        refuses NUL characters in has none."""
        schema: dict[str, Any] | None = super()._map_serializer_field(  # type: ignore[no-untyped-call]  # unannotated in drf-spectacular
            field, direction, bypass_extensions
        )
        if schema is None or direction != "request":
            return schema
        if schema.get("type") == "string":
            checks = field.validators
            if any(isinstance(check, ProhibitNullCharactersValidator) for check in checks) and not any(
                isinstance(check, RegexValidator) for check in checks
            ):
                schema["pattern"] = NO_NUL_PATTERN
            return schema
        if schema.get("type") != "array":
            return schema
        if getattr(field, "allow_empty", True) is False:
            schema["minItems"] = max(schema.get("minItems", 0), 1)
        max_length = getattr(field, "max_length", None)
        if isinstance(field, serializers.ListSerializer) and max_length is not None:
            schema["maxItems"] = max_length
        return schema

    def get_serializer_name(self, serializer: serializers.Serializer[Any], direction: Direction) -> str:
        """A view's nested serializers are named after the view: OrderSagaApi.OutputSerializer ->
        OrderSagaOutput (DRF would call every one of them Input or Output)."""
        qualname = type(serializer).__qualname__
        if "." in qualname:
            return "".join(
                part.removesuffix("Api").removesuffix("Serializer") for part in qualname.split(".")
            )
        return super().get_serializer_name(serializer, direction)

    def _implied_errors(self) -> list[int]:
        errors = [429] if self._public() else [401, 403, 429]
        has_body = self.get_request_serializer() is not None
        if (
            has_body
            or self._idempotent()
            or self._paged()
            or (self.method == "GET" and hasattr(self.view, "FilterSerializer"))
        ):
            errors.append(400)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.append(413)
        if self._idempotent():
            errors += [409, 422]
        if "{" in self.path or self._paged():
            errors.append(404)
        return errors

    def _public(self) -> bool:
        """Whether anyone may call the operation without a token: its view authenticates no one."""
        return not self.view.get_authenticators()

    def _paged(self) -> bool:
        return any(
            isinstance(parameter, type) and issubclass(parameter, PageQuerySerializer)
            for parameter in self.get_override_parameters()
        )

    def _idempotent(self) -> bool:
        handler = getattr(self.view, self.method.lower(), None)
        return getattr(handler, "idempotent", False)


class StrictBodyScheme(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]  # as BearerTokenScheme below
    """A body read by a StrictSerializer (nested ones too) allows no other properties: the serializer
    refuses unknown fields, and the schema says so, so that no schema-valid body is refused. A rule
    across fields that its `validate` checks is published from its `json_schema_rules` (JSON Schema
    keywords such as `anyOf`), written beside that `validate`."""

    target_class = "chassis.fields.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(  # type: ignore[no-untyped-call]  # unannotated in drf-spectacular
            self.target, direction, bypass_extensions=True
        )
        if direction == "request":
            schema["additionalProperties"] = False
            schema.update(getattr(self.target, "json_schema_rules", {}))
        return schema


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # drf-spectacular's __init_subclass__ is unannotated
    """chassis.auth.JwtAuthentication, as OpenAPI sees it: a bearer JWT."""

    target_class = "chassis.auth.JwtAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT from the identity provider; locally, `sagactl token --customer ID` or "
            "`sagactl token --operator` prints one.",
        }
