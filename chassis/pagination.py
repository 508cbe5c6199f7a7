"""Page-number pagination that every service's list endpoints share: `?page=` and `?page_size=`.

Answers `{count, next, previous, results}`; a page past the end is 404 in the error shape, and a
page or a size that is not a whole number in range is 400, never quietly the default.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from chassis.fields import QueryIntegerField, QuerySerializer

MAX_PAGE_SIZE = 500


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class PageQuerySerializer(QuerySerializer):
    """The query of a page: what `paginated_response` accepts and what the schema says of it."""

    page = QueryIntegerField(
        min_value=1, required=False, help_text="Page number, from 1 (a page past the end is 404)."
    )
    page_size = QueryIntegerField(
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        required=False,
        help_text=f"Items per page, 1 to {MAX_PAGE_SIZE} (default {Pagination.page_size}).",
    )


def paginated_response(
    *, queryset: QuerySet[Model], serializer_class: type[Serializer[Any]], request: Request, view: APIView
) -> Response:
    """One page of `queryset`, serialized with `serializer_class`, in the paginated envelope."""
    PageQuerySerializer(data=request.query_params).is_valid(raise_exception=True)
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
